import dnsPacket from 'dns-packet';
import type { Answer, Question } from 'dns-packet';
import { silentLogger, startDnsListener, type DnsListener, type DnsRequest } from '@kube-dns/daemon-kit';

/**
 * A DNS server on loopback whose every answer a test decides: records, a bare rcode, silence or raw bytes.
 * UDP and TCP on the same port (daemon-kit's listener), so it also stands in for a real server that a test
 * kills and restarts (`close()`, then start another on the same `port`).
 */

export type ScriptedReply =
  | { answers: Answer[]; rcode?: number }
  /** No records: NOERROR here is NODATA. */
  | { rcode: number }
  | { silent: true }
  | { raw: Buffer };

export type DnsScript = (question: Question, request: DnsRequest) => ScriptedReply | Promise<ScriptedReply>;

export interface ScriptedDnsServer {
  readonly host: string;
  readonly port: number;
  /** Queries received so far. */
  readonly queries: number;
  /** What the next queries get. */
  script: DnsScript;
  close(): Promise<void>;
}

export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export async function startScriptedDnsServer(
  script: DnsScript,
  options: { host?: string; port?: number } = {},
): Promise<ScriptedDnsServer> {
  let queries = 0;
  const state = { script };
  const listener: DnsListener = await startDnsListener({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    logger: silentLogger,
    handler: async (request) => {
      queries++;
      const question = dnsPacket.decode(request.query).questions![0]!;
      const reply = await state.script(question, request);
      if ('silent' in reply) return null;
      if ('raw' in reply) return reply.raw;
      return dnsPacket.encode({
        type: 'response',
        id: request.view.id,
        // RD echoed, RA set, rcode in the low bits.
        flags: (request.view.flags & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | (reply.rcode ?? 0),
        questions: [question],
        answers: 'answers' in reply ? reply.answers : [],
      });
    },
  });
  return {
    host: listener.host,
    port: listener.port,
    get queries() {
      return queries;
    },
    get script() {
      return state.script;
    },
    set script(next: DnsScript) {
      state.script = next;
    },
    close: () => listener.close(),
  };
}

/** Answers every question with one A record (for A) or one SRV (for SRV/ANY), NOERROR. */
export const answerEverything: DnsScript = (question) => ({
  answers: [
    question.type === 'A' || question.type === 'AAAA'
      ? { type: 'A', name: question.name, ttl: 30, data: '10.0.0.1' }
      : {
          type: 'SRV',
          name: question.name,
          ttl: 30,
          data: { priority: 0, weight: 100, port: 443, target: question.name },
        },
  ],
});

/**
 * dnsmasq's statistics over CHAOS TXT (`hits.bind` …): each counter's TXT strings come from `values`, read
 * at query time, so a test changes them (or drops them to simulate a restart) between polls. Other names
 * go to `fallback` (REFUSED by default).
 */
export function chaosStatsScript(
  values: Record<string, number | string | string[]>,
  fallback: DnsScript = () => ({ rcode: RCODE.REFUSED }),
): DnsScript {
  return (question, request) => {
    const match = /^([a-z]+)\.bind$/i.exec(question.name);
    if (question.class !== 'CH' || question.type !== 'TXT' || !match) return fallback(question, request);
    const value = values[match[1]!.toLowerCase()];
    if (value === undefined) return { rcode: RCODE.NXDOMAIN };
    const data = Array.isArray(value) ? value : [String(value)];
    return { answers: [{ type: 'TXT', class: 'CH', name: question.name, ttl: 0, data }] };
  };
}
