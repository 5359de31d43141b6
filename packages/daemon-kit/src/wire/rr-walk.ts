import { HEADER_LENGTH } from './constants.js';
import { skipName } from './names.js';

/** Position of one resource record inside a message. */
export interface RecordSpan {
  /** Where the owner name starts. */
  start: number;
  /** Offset of the TYPE field (just past the owner name). */
  fixed: number;
  type: number;
  /** Just past RDATA. */
  end: number;
  section: 'answer' | 'authority' | 'additional';
}

/**
 * Lists every RR of a message (header counts honoured), or null if the message is malformed.
 * Used by truncation and TTL rewriting, which must not decode names or RDATA.
 */
export function walkRecords(buf: Buffer): { questionEnd: number; records: RecordSpan[] } | null {
  if (buf.length < HEADER_LENGTH) return null;
  const qdcount = buf.readUInt16BE(4);
  const counts = [buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const;
  let offset = HEADER_LENGTH;
  for (let i = 0; i < qdcount; i++) {
    offset = skipName(buf, offset);
    if (offset < 0 || offset + 4 > buf.length) return null;
    offset += 4;
  }
  const questionEnd = offset;
  const sections = ['answer', 'authority', 'additional'] as const;
  const records: RecordSpan[] = [];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const start = offset;
      const fixed = skipName(buf, offset);
      if (fixed < 0 || fixed + 10 > buf.length) return null;
      const end = fixed + 10 + buf.readUInt16BE(fixed + 8);
      if (end > buf.length) return null;
      records.push({ start, fixed, type: buf.readUInt16BE(fixed), end, section: sections[s]! });
      offset = end;
    }
  }
  return { questionEnd, records };
}
