import type { DecodedPacket, RecordClass, RecordType } from 'dns-packet';
import { type UpstreamServer } from '@kube-dns/daemon-kit';
export interface QueryOptions {
    tcp?: boolean;
    /** EDNS0 UDP size to advertise; omitted means no OPT record. */
    edns?: number;
    qclass?: RecordClass;
    recursionDesired?: boolean;
    timeoutMs?: number;
}
export interface QueryResult {
    raw: Buffer;
    packet: DecodedPacket;
    rcode: string;
    flags: {
        aa: boolean;
        tc: boolean;
        rd: boolean;
        ra: boolean;
    };
}
/** Builds a query message with dns-packet. */
export declare function buildQuery(name: string, type: RecordType, options?: QueryOptions): Buffer;
/** Decodes a response and reads its header bits. */
export declare function describeResponse(raw: Buffer): QueryResult;
/** A dig-like query for tests: UDP by default, TCP on request. */
export declare function queryDns(server: UpstreamServer, name: string, type: RecordType, options?: QueryOptions): Promise<QueryResult>;
/** Answer records as compact strings (`name TTL TYPE data`) for table assertions. */
export declare function answerLines(packet: DecodedPacket, section?: 'answers' | 'authorities' | 'additionals'): string[];
