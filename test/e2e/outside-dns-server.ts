import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

/**
 * The "rest of the Internet" for the Pod scenario: a UDP DNS server run inside the lab (the node namespaces'
 * resolv.conf names it, as a node's resolvers would be) that knows one name. Usage: node outside-dns-server.js
 * <address> <port> <name> <ipv4>. Prints `listening` once bound.
 */
const [address = '127.0.0.1', port = '53', known = 'outside.example', ip = '192.0.2.99'] = process.argv.slice(2);
const socket = dgram.createSocket('udp4');
socket.on('message', (message, remote) => {
  let query;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return;
  }
  const question = query.questions?.[0];
  const isKnown = question !== undefined && question.name.toLowerCase() === known;
  const hit = isKnown && question.type === 'A';
  const reply = dnsPacket.encode({
    type: 'response',
    id: query.id,
    // NXDOMAIN for other names, NODATA for other types of the known one.
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (isKnown ? 0 : 3),
    questions: query.questions,
    answers: hit ? [{ type: 'A', name: question.name, ttl: 60, data: ip }] : [],
  });
  socket.send(reply, remote.port, remote.address);
});
socket.bind(Number(port), address, () => process.stdout.write('listening\n'));
