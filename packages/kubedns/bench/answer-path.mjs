// In-process micro-benchmark of kube-dns's answer path (not a test): answers per second of the handler for
// cached authoritative answers (the hot path), with and without daemon-kit's query parsing and with metrics
// on, over 10k ClusterIP services + 2k headless services × 25 endpoints.
// Usage: node packages/kubedns/bench/answer-path.mjs [seconds per case, default 2]   (after `tsc -b`)
import { parseQuery, silentLogger } from '@kube-dns/daemon-kit';
import { createDnsMetrics, createKubeDnsHandler, RecordStore } from '@kube-dns/kubedns';
import dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';

const seconds = Number(process.argv[2] ?? 2);
const store = new RecordStore({ zone: 'cluster.local', ttl: 30, negativeTtl: 5, podRecords: 'insecure' });
for (let n = 0; n < 100; n++) store.upsertNamespace(`ns-${n}`);
for (let i = 0; i < 10_000; i++) {
  store.upsertService({
    namespace: `ns-${i % 100}`,
    name: `svc-${i}`,
    kind: 'ClusterIP',
    clusterIPs: [`10.96.${i >> 8}.${i & 255}`],
    externalName: null,
    ports: [{ name: 'http', protocol: 'tcp', port: 80 }],
  });
}
for (let h = 0; h < 2000; h++) {
  const namespace = `ns-${h % 100}`;
  store.upsertService({ namespace, name: `hl-${h}`, kind: 'Headless', clusterIPs: [], externalName: null, ports: [] });
  store.upsertEndpoints({
    namespace,
    name: `hl-${h}-x`,
    serviceName: `hl-${h}`,
    subsets: [
      {
        ports: [{ name: 'http', protocol: 'tcp', port: 8080 }],
        endpoints: Array.from({ length: 25 }, (_, e) => ({
          addresses: [`10.${64 + (h >> 8)}.${h & 255}.${e + 1}`],
          hostname: `pod-${e}`,
          ready: true,
          podName: null,
        })),
      },
    ],
  });
}
store.markSynced();

const forwarder = {
  routingVersion: 0,
  stubFor: () => null,
  forward: () => Promise.reject(new Error('not used')),
  lookup: () => Promise.resolve(null),
};
const plain = createKubeDnsHandler({
  store,
  forwarder,
  zone: 'cluster.local',
  ttl: 30,
  negativeTtl: 5,
  logger: silentLogger,
});
const metrics = createDnsMetrics(new Registry());
const measured = createKubeDnsHandler({
  store,
  forwarder,
  zone: 'cluster.local',
  ttl: 30,
  negativeTtl: 5,
  logger: silentLogger,
  metrics,
});

function queries(names, type) {
  return names.map((name, i) =>
    dnsPacket.encode({
      type: 'query',
      id: i & 0xffff,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name, type }],
    }),
  );
}
const serviceNames = Array.from({ length: 1000 }, (_, i) => `svc-${i * 10}.ns-${(i * 10) % 100}.svc.cluster.local`);
const cases = [
  ['A, ClusterIP service (1000 names)', queries(serviceNames, 'A')],
  [
    'A, headless service, 25 records',
    queries(
      Array.from({ length: 100 }, (_, h) => `hl-${h}.ns-${h % 100}.svc.cluster.local`),
      'A',
    ),
  ],
  [
    'SRV _http._tcp, ClusterIP',
    queries(
      serviceNames.map((n) => `_http._tcp.${n}`),
      'SRV',
    ),
  ],
  [
    'NXDOMAIN (search-path junk)',
    queries(
      serviceNames.map((n) => `www.example.com.${n.split('.')[1]}.svc.cluster.local`),
      'A',
    ),
  ],
];

function run(label, messages, handler, withParse) {
  const requests = messages.map((query) => ({
    query,
    view: parseQuery(query).view,
    transport: 'udp',
    remoteAddress: '127.0.0.1',
    remotePort: 1,
    maxSize: 512,
  }));
  const step = (i) => {
    const request = requests[i % requests.length];
    if (withParse) request.view = parseQuery(request.query).view;
    const response = handler(request);
    if (handler === measured) metrics.observer.onResponse(request, response, 0.00001, false);
    return response;
  };
  for (let i = 0; i < 200_000; i++) step(i); // warm-up and cache fill
  let count = 0;
  let bytes = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 10_000; i++) bytes += step(count++).length;
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const rate = count / elapsed;
  console.log(
    `${label.padEnd(62)} ${(rate / 1000).toFixed(0).padStart(6)} k answers/s  (${(1e9 / rate).toFixed(0)} ns each, ${(bytes / count).toFixed(0)} B)`,
  );
  return rate;
}

console.log(`node ${process.version}, ${seconds}s per case, store: ${JSON.stringify(store.size())}`);
for (const [label, messages] of cases) {
  run(`${label}: handler only`, messages, plain, false);
  run(`${label}: parse + handler + metrics`, messages, measured, true);
}
