import { Flag, HEADER_LENGTH, RRType } from './constants.js';
import { walkRecords } from './rr-walk.js';

/**
 * Fits a response into `maxSize` octets for UDP by keeping whole records (answer, then authority, then
 * additional) in their original order and always keeping the OPT record. TC is set when an answer or
 * authority record had to go (RFC 2181 §9: dropped additional glue does not require a retry over TCP).
 * Works on the wire: compression pointers only point backwards, so any prefix of the records stays valid.
 */
export function truncateResponse(response: Buffer, maxSize: number): Buffer {
  if (response.length <= maxSize) return response;
  const walked = walkRecords(response);
  if (walked === null) return headerAndQuestionOnly(response, response.length >= HEADER_LENGTH ? HEADER_LENGTH : 0);
  const { questionEnd, records } = walked;
  const opt = records.find((r) => r.type === RRType.OPT && r.section === 'additional');
  const optLength = opt ? opt.end - opt.start : 0;
  let size = questionEnd;
  let keptCount = 0;
  let optKept = false;
  for (const record of records) {
    const length = record.end - record.start;
    const reserve = record === opt || optKept ? 0 : optLength;
    if (size + length + reserve > maxSize) break;
    size += length;
    keptCount++;
    if (record === opt) optKept = true;
  }
  const kept = records.slice(0, keptCount);
  const dropped = records.slice(keptCount);
  const lastEnd = keptCount > 0 ? kept[keptCount - 1]!.end : questionEnd;
  const parts = [response.subarray(0, lastEnd)];
  if (opt && !optKept) parts.push(response.subarray(opt.start, opt.end));
  const out = Buffer.concat(parts);
  const count = (section: string) =>
    kept.filter((r) => r.section === section).length + (section === 'additional' && opt && !optKept ? 1 : 0);
  out.writeUInt16BE(count('answer'), 6);
  out.writeUInt16BE(count('authority'), 8);
  out.writeUInt16BE(count('additional'), 10);
  if (dropped.some((r) => r.section !== 'additional')) out.writeUInt16BE(out.readUInt16BE(2) | Flag.TC, 2);
  return out;
}

function headerAndQuestionOnly(response: Buffer, length: number): Buffer {
  const out = Buffer.from(response.subarray(0, length));
  if (out.length >= HEADER_LENGTH) {
    out.writeUInt16BE(out.readUInt16BE(2) | Flag.TC, 2);
    out.fill(0, 4, 12);
  }
  return out;
}
