import dnsPacket from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';
import { DEFAULT_EDNS_UDP_SIZE, Flag, RRType, type QueryView } from '@kube-dns/daemon-kit';
import type { AnswerMessage, ResourceRecord } from '../resolver/answer.js';

/**
 * The slow path: a whole reply built with dns-packet from a decoded query. It is the reference the
 * pre-encoded fast path is tested against (same decoded result for every question), and it builds the
 * replies that cannot be pre-encoded (ExternalName chains completed upstream, unusual questions).
 */
export interface ReferenceExtras {
  /** Records appended to the answer section as they are (already spelled), e.g. from an upstream reply. */
  answers?: Answer[];
  authorities?: Answer[];
  /** Overrides the message's rcode. */
  rcode?: number;
  /** The serial written into the SOA (default: the one the message carries). */
  serial?: number;
}

export function encodeResponseReference(
  query: Buffer,
  view: QueryView,
  message: AnswerMessage,
  ednsUdpSize: number = DEFAULT_EDNS_UDP_SIZE,
  extras: ReferenceExtras = {},
): Buffer {
  const decoded = dnsPacket.decode(query);
  const question = decoded.questions?.[0];
  const questionName = question?.name ?? view.qname;
  const spell = (name: string): string => spellLikeQuestion(name, questionName);
  const rcode = extras.rcode ?? message.rcode;
  const flags =
    (view.flags & (0x7800 | Flag.RD | Flag.CD)) | Flag.RA | (message.authoritative ? Flag.AA : 0) | (rcode & 0xf);
  const toAnswer = (rr: ResourceRecord): Answer => toPacketAnswer(rr, spell, extras.serial);
  const additionals: Answer[] = message.additional.map(toAnswer);
  if (view.edns) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: ednsUdpSize,
      extendedRcode: 0,
      ednsVersion: 0,
      flags: view.edns.dnssecOk ? 0x8000 : 0,
      flag_do: view.edns.dnssecOk,
      options: [],
    });
  }
  const packet: Packet = {
    type: 'response',
    id: view.id,
    flags,
    questions: [],
    answers: [...message.answer.map(toAnswer), ...(extras.answers ?? [])],
    authorities: [...message.authority.map(toAnswer), ...(extras.authorities ?? [])],
    additionals,
  };
  const encoded = dnsPacket.encode(packet);
  if (!question) return encoded;
  // The question goes back exactly as it came: dns-packet reads labels as UTF-8, so re-encoding a label
  // with octets above 0x7f would change it (and resolvers drop answers whose question does not match).
  // dns-packet does not compress, so nothing after the question points into it.
  const out = Buffer.concat([encoded.subarray(0, 12), query.subarray(12, view.questionEnd), encoded.subarray(12)]);
  out.writeUInt16BE(1, 4);
  return out;
}

/** The spelling rule of the fast path: a name equal to the question's is spelled as asked, others as stored. */
export function spellLikeQuestion(name: string, questionName: string): string {
  const question = questionName.replace(/\.$/, '');
  return name === question.toLowerCase() ? question : name;
}

function toPacketAnswer(rr: ResourceRecord, spell: (name: string) => string, serial?: number): Answer {
  const name = spell(rr.name);
  switch (rr.type) {
    case RRType.A:
      return { type: 'A', name, ttl: rr.ttl, class: 'IN', data: rr.address };
    case RRType.AAAA:
      return { type: 'AAAA', name, ttl: rr.ttl, class: 'IN', data: rr.address };
    case RRType.NS:
      return { type: 'NS', name, ttl: rr.ttl, class: 'IN', data: spell(rr.target) };
    case RRType.CNAME:
      return { type: 'CNAME', name, ttl: rr.ttl, class: 'IN', data: spell(rr.target) };
    case RRType.PTR:
      return { type: 'PTR', name, ttl: rr.ttl, class: 'IN', data: spell(rr.target) };
    case RRType.SRV:
      // SRV targets are not compressed on the fast path, so even the question's name keeps its stored case.
      return {
        type: 'SRV',
        name,
        ttl: rr.ttl,
        class: 'IN',
        data: { priority: rr.priority, weight: rr.weight, port: rr.port, target: rr.target },
      };
    case RRType.SOA:
      return {
        type: 'SOA',
        name,
        ttl: rr.ttl,
        class: 'IN',
        data: {
          mname: spell(rr.mname),
          rname: spell(rr.rname),
          serial: serial ?? rr.serial,
          refresh: rr.refresh,
          retry: rr.retry,
          expire: rr.expire,
          minimum: rr.minimum,
        },
      };
    case RRType.TXT:
      return { type: 'TXT', name, ttl: rr.ttl, class: 'IN', data: rr.strings.map((s) => Buffer.from(s, 'utf8')) };
  }
}
