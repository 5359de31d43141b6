import { RCODE, startScriptedDnsServer } from '../helpers/index.js';

/**
 * The "rest of the Internet" for the Pod scenario: a DNS server run inside the lab (the node namespaces'
 * resolv.conf names it, as a node's resolvers would be) that knows one name. Usage: node outside-dns-server.js
 * <address> <port> <name> <ipv4>. Prints `listening` once bound.
 */
const [address = '127.0.0.1', port = '53', known = 'outside.example', ip = '192.0.2.99'] = process.argv.slice(2);
await startScriptedDnsServer(
  (question) => {
    if (question.name.toLowerCase() !== known) return { rcode: RCODE.NXDOMAIN };
    // NODATA for other types of the known name.
    return { answers: question.type === 'A' ? [{ type: 'A', name: question.name, ttl: 60, data: ip }] : [] };
  },
  { host: address, port: Number(port) },
);
process.stdout.write('listening\n');
