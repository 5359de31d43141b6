import dnsPacket from 'dns-packet';
import { exchangeTcp, exchangeUdp, randomQueryId, rcodeToString } from '@kube-dns/daemon-kit';
/** Builds a query message with dns-packet. */
export function buildQuery(name, type, options = {}) {
    const packet = {
        type: 'query',
        id: randomQueryId(),
        flags: options.recursionDesired === false ? 0 : dnsPacket.RECURSION_DESIRED,
        questions: [{ name, type, class: options.qclass ?? 'IN' }],
    };
    if (options.edns !== undefined) {
        packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: options.edns, flags: 0 }];
    }
    return dnsPacket.encode(packet);
}
/** Decodes a response and reads its header bits. */
export function describeResponse(raw) {
    const packet = dnsPacket.decode(raw);
    const flags = raw.readUInt16BE(2);
    return {
        raw,
        packet,
        rcode: rcodeToString(raw[3] & 0xf),
        flags: {
            aa: (flags & 0x400) !== 0,
            tc: (flags & 0x200) !== 0,
            rd: (flags & 0x100) !== 0,
            ra: (flags & 0x80) !== 0,
        },
    };
}
/** A dig-like query for tests: UDP by default, TCP on request. */
export async function queryDns(server, name, type, options = {}) {
    const query = buildQuery(name, type, options);
    const exchange = options.tcp ? exchangeTcp : exchangeUdp;
    const raw = await exchange(server, query, { timeoutMs: options.timeoutMs ?? 3000 });
    return describeResponse(raw);
}
/** Answer records as compact strings (`name TTL TYPE data`) for table assertions. */
export function answerLines(packet, section = 'answers') {
    return (packet[section] ?? [])
        .filter((rr) => rr.type !== 'OPT')
        .map((rr) => {
        const r = rr;
        return `${r.name} ${r.ttl ?? 0} ${r.type} ${formatData(r.type, r.data)}`;
    });
}
function formatData(type, data) {
    if (type === 'SRV') {
        const d = data;
        return `${d.priority} ${d.weight} ${d.port} ${d.target}`;
    }
    if (type === 'SOA') {
        const d = data;
        return `${d.mname} ${d.rname} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    }
    if (type === 'TXT')
        return data.map((b) => JSON.stringify(b.toString())).join(' ');
    return String(data);
}
//# sourceMappingURL=dns-client.js.map