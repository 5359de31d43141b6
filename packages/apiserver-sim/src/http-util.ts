import type http from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, type StatusObject } from './api-error.js';

const gzipAsync = promisify(gzip);

/** The real apiserver's request body limit. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'RequestEntityTooLarge', 'the request entity is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A request body as JSON, or YAML when the content type says so (as the real server accepts both). */
export function parseBody(body: Buffer, contentType: string | undefined): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  try {
    return contentType?.includes('yaml') ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (error) {
    throw badRequest(`the request body could not be decoded: ${(error as Error).message}`);
  }
}

export interface SendOptions {
  /** Compress bodies at least this long when the client accepts gzip (the real server: 128 KiB); off if undefined. */
  gzipMinBytes?: number | undefined;
  headers?: Record<string, string>;
}

export async function sendJson(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  json: string,
  options: SendOptions = {},
): Promise<void> {
  let body: Buffer | string = json;
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'X-Content-Type-Options': 'nosniff',
    ...options.headers,
  };
  const length = Buffer.byteLength(json);
  if (
    options.gzipMinBytes !== undefined &&
    length >= options.gzipMinBytes &&
    /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
  ) {
    body = await gzipAsync(json, { level: 1 });
    headers['Content-Encoding'] = 'gzip';
    headers['Content-Length'] = body.length;
  } else headers['Content-Length'] = length;
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function sendStatus(req: http.IncomingMessage, res: http.ServerResponse, status: StatusObject): Promise<void> {
  return sendJson(req, res, status.code, JSON.stringify(status));
}

export function sendText(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}
