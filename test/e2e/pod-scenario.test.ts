import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPodContainers, withFlag, type PodContainer } from '@kube-dns/local-pod';
import { parseAllDocuments } from 'yaml';
import {
  createNetnsLab,
  missingNetnsLab,
  missingTool,
  waitUntil,
  type LabProcess,
  type Netns,
  type NetnsLab,
} from '../helpers/index.js';

/**
 * The article's scenario (shared/seed): kubelet's clusterDNS 10.96.0.10 and clusterDomain cluster.local, the
 * manifest rendered from kube-dns.yaml.base through transforms2sed.sed with those values, its Pod started,
 * `nslookup kubernetes.default` from a Pod, then a second replica.
 *
 *   ctl     198.18.255.1   apiserver simulator (seeded with examples/cluster)
 *           198.18.255.53  the node's upstream resolver (knows outside.example)
 *   node1   the Pod's three processes with the manifest's args: :53 cache, :10053 kube-dns, :8081, :10054, :10055
 *           10.96.0.10/32 on its link to the client (the Service address, as kube-proxy would make it reachable)
 *   node2   a second replica, same simulator, its own 10.96.0.10 link to the client
 *   client  a Pod: kubelet's resolv.conf, 10.96.0.10 routed to node1 (later node2)
 */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const outsideDnsScript = fileURLToPath(new URL('./outside-dns-server.js', import.meta.url));
const SERVICE_IP = '10.96.0.10';
const APISERVER_IP = '198.18.255.1';
const UPSTREAM_IP = '198.18.255.53';
const TOKEN = 'scenario-token';
// What a Pod with dnsPolicy ClusterFirst in namespace default gets from kubelet clusterDNS/clusterDomain, in the
// order the container runtime writes the lines (containerd's CRI: search, nameserver, options).
const POD_RESOLV_CONF = [
  'search default.svc.cluster.local svc.cluster.local cluster.local',
  `nameserver ${SERVICE_IP}`,
  'options ndots:5',
  '',
].join('\n');

const skip = missingTool('nslookup', 'dig', 'getent') || missingNetnsLab();

/** The Deployment's containers with exactly their args, but for what a node provides differently here. */
function nodeArgs(container: PodContainer, kubeconfig: string, configDir: string): string[] {
  let args = container.args;
  // The mounted ConfigMap folder is a temp folder; kube-dns's in-cluster service account is a kubeconfig.
  if (args.some((arg) => arg.startsWith('--config-dir='))) args = withFlag(args, { long: 'config-dir' }, configDir);
  if (container.program === 'kube-dns') args = [...args, `--kubecfg-file=${kubeconfig}`];
  return args;
}

interface Node {
  netns: Netns;
  processes: LabProcess[];
}

/** What the kubelet would check and what the Pod declares, read from the rendered manifest's Deployment. */
interface PodContract {
  /** Every HTTP probe of every container: `<port>/<path>` as the kubelet would GET it. */
  probes: string[];
  /** Every declared container port: `<port>/<protocol>`. */
  ports: string[];
}

interface ManifestContainer {
  name: string;
  ports?: Array<{ containerPort: number; name?: string; protocol?: string }>;
  livenessProbe?: { httpGet?: { port: number | string; path?: string } };
  readinessProbe?: { httpGet?: { port: number | string; path?: string } };
  startupProbe?: { httpGet?: { port: number | string; path?: string } };
}

function podContract(manifest: string): PodContract {
  const deployment = parseAllDocuments(readFileSync(manifest, 'utf8'))
    .map((doc) => doc.toJS() as { kind?: string; spec?: { template: { spec: { containers: ManifestContainer[] } } } })
    .find((object) => object?.kind === 'Deployment');
  const containers = deployment?.spec?.template.spec.containers ?? [];
  assert.equal(containers.length, 3, 'the Deployment has the three containers');
  const probes = containers.flatMap((c) =>
    [c.livenessProbe, c.readinessProbe, c.startupProbe].flatMap((probe) => {
      if (probe === undefined) return [];
      assert.ok(probe.httpGet, `${c.name}: an HTTP probe`);
      const { port, path = '/' } = probe.httpGet;
      // A named port resolves within the probed container, as the kubelet does.
      const number = typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
      assert.ok(number, `${c.name}: probe port ${port}`);
      return [`${number}${path}`];
    }),
  );
  const ports = containers.flatMap((c) => (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`));
  return { probes: [...new Set(probes)], ports: [...new Set(ports)].sort() };
}

/** The ports something listens on (TCP) or is bound to (UDP) in a namespace, as `<port>/<protocol>`. */
async function boundPorts(netns: Netns): Promise<Set<string>> {
  const result = await netns.run('ss', ['-H', '-l', '-n', '-t', '-u']);
  const bound = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const [proto, , , , local] = line.trim().split(/\s+/);
    const port = local?.slice(local.lastIndexOf(':') + 1);
    if (proto && port) bound.add(`${port}/${proto.toUpperCase()}`);
  }
  return bound;
}

/**
 * The article's deployment step: put the kubelet's values into transforms2sed.sed's variables, then
 * `sed -f transforms2sed.sed kube-dns.yaml.base > kube-dns.yaml`. Returns the rendered file.
 */
function renderManifest(dir: string): string {
  const manifests = join(repoRoot, 'manifests');
  const script = join(dir, 'transforms2sed.sed');
  writeFileSync(
    script,
    readFileSync(join(manifests, 'transforms2sed.sed'), 'utf8')
      .replaceAll('$DNS_SERVER_IP', SERVICE_IP)
      .replaceAll('$DNS_DOMAIN', 'cluster.local'),
  );
  const rendered = join(dir, 'kube-dns.yaml');
  writeFileSync(
    rendered,
    execFileSync('sed', ['-f', script, join(manifests, 'kube-dns.yaml.base')], { encoding: 'utf8' }),
  );
  return rendered;
}

function startPod(netns: Netns, manifest: string, kubeconfig: string, configDir: string): Node {
  const containers = loadPodContainers(manifest, repoRoot);
  const processes = containers.map((container) =>
    netns.spawn(
      `${netns.name}/${container.program}`,
      process.execPath,
      [container.bin, ...nodeArgs(container, kubeconfig, configDir)],
      { env: { ...process.env, ...container.env, LOG_FORMAT: 'text' } },
    ),
  );
  return { netns, processes };
}

function logs(nodes: Node[]): string {
  return nodes
    .flatMap((node) => node.processes.map((p) => `--- ${p.name} (pid ${p.pid})\n${p.output.slice(-15).join('\n')}`))
    .join('\n');
}

/** An HTTP request made from inside a namespace (the simulator and the probes live in the lab). */
async function httpFrom(
  netns: Netns,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; text: string; at: number }> {
  const script = `const [url, method, token, body] = process.argv.slice(1);
fetch(url, { method, headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' }, body: body || undefined })
  .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, text: await r.text(), at: Date.now() })))
  .catch((e) => { process.stdout.write(JSON.stringify({ status: 0, text: String(e), at: Date.now() })); });`;
  const result = await netns.run(process.execPath, [
    '-e',
    script,
    url,
    method,
    TOKEN,
    body ? JSON.stringify(body) : '',
  ]);
  return JSON.parse(result.stdout || '{"status":0,"text":"no output","at":0}') as {
    status: number;
    text: string;
    at: number;
  };
}

const digShort = async (netns: Netns, server: string, name: string, type = 'A'): Promise<string[]> => {
  const result = await netns.run('dig', [`@${server}`, '+short', '+time=1', '+tries=1', name, type]);
  return result.stdout.trim().split('\n').filter(Boolean).sort();
};

async function waitForPod(
  t: TestContext,
  node: Node,
  contract: PodContract,
  client: Netns | null,
  nodes: Node[],
): Promise<void> {
  const started = Date.now();
  const options = { timeoutMs: 40_000, intervalMs: 100 };
  try {
    // The kubelet's view: every probe of the manifest (kube-dns /readiness, the sidecar's health checks of both
    // servers and its own /metrics) answers 200 from the processes started with the manifest's args.
    for (const path of contract.probes) {
      await waitUntil(
        `${node.netns.name} ${path}`,
        async () => (await httpFrom(node.netns, 'GET', `http://127.0.0.1:${path}`)).status === 200,
        options,
      );
    }
    // Every port the Pod declares is really served.
    const bound = await boundPorts(node.netns);
    assert.deepEqual(
      contract.ports.filter((port) => !bound.has(port)),
      [],
      `declared but not bound in ${node.netns.name}`,
    );
    if (client) {
      await waitUntil(
        'the Service address answering the client',
        async () => (await digShort(client, SERVICE_IP, 'kubernetes.default.svc.cluster.local')).includes('10.96.0.1'),
        options,
      );
    }
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${logs(nodes)}`);
  }
  t.diagnostic(`${node.netns.name} ready in ${Date.now() - started} ms`);
}

/** Creates a Service through the API and measures how long until a client Pod resolves it. */
async function createAndResolve(ctl: Netns, client: Netns, name: string, clusterIP: string): Promise<number> {
  const posted = await httpFrom(
    ctl,
    'POST',
    `http://${APISERVER_IP}:${apiserverPort}/api/v1/namespaces/default/services`,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { clusterIP, ports: [{ name: 'http', port: 80 }] },
    },
  );
  assert.equal(posted.status, 201, posted.text);
  let resolvedAt = 0;
  await waitUntil(
    `${name} resolving from the client`,
    async () => {
      const found = (await digShort(client, SERVICE_IP, `${name}.default.svc.cluster.local`)).includes(clusterIP);
      if (found) resolvedAt = Date.now();
      return found;
    },
    { timeoutMs: 5000, intervalMs: 10 },
  );
  return resolvedAt - posted.at;
}

let apiserverPort = 0;

test(
  'the article’s scenario in network namespaces: nslookup kubernetes.default from a Pod, a new Service, a second replica',
  { skip, timeout: 120_000 },
  async (t) => {
    const tmp = mkdtempSync(join(tmpdir(), 'pod-scenario-'));
    const kubeconfig = join(tmp, 'kubeconfig');
    let lab: NetnsLab | null = null;
    const nodes: Node[] = [];
    try {
      lab = await createNetnsLab();
      const nodeResolvConf = `nameserver ${UPSTREAM_IP}\n`;
      const ctl = await lab.namespace('ctl');
      const node1 = await lab.namespace('node1', { resolvConf: nodeResolvConf });
      const node2 = await lab.namespace('node2', { resolvConf: nodeResolvConf });
      const client = await lab.namespace('client', { resolvConf: POD_RESOLV_CONF });

      // ctl: the apiserver and the node's upstream resolver, reached by both nodes.
      await ctl.ip('addr', 'add', `${APISERVER_IP}/32`, 'dev', 'lo');
      await ctl.ip('addr', 'add', `${UPSTREAM_IP}/32`, 'dev', 'lo');
      for (const [index, node] of [node1, node2].entries()) {
        const net = `198.18.${index + 1}`;
        await lab.link(ctl, [`${net}.1/30`], node, [`${net}.2/30`]);
        await node.ip('route', 'add', '198.18.255.0/24', 'via', `${net}.1`);
      }
      // node ↔ client: the node holds the Service address, the client has its Pod address. The node's route to the
      // client uses 10.96.0.10 as source, so UDP answers from the cache's wildcard socket come from the address
      // the client asked (glibc drops answers from any other), as kube-proxy's reverse NAT would make them.
      const clientLinks: string[] = [];
      for (const [index, node] of [node1, node2].entries()) {
        const podIp = `198.18.${index + 3}.2`;
        const [nodeDevice, clientDevice] = await lab.link(node, [`${SERVICE_IP}/32`], client, [`${podIp}/32`]);
        await node.ip('route', 'add', `${podIp}/32`, 'dev', nodeDevice, 'src', SERVICE_IP);
        clientLinks.push(clientDevice);
      }
      await client.ip('route', 'add', `${SERVICE_IP}/32`, 'dev', clientLinks[0]!, 'src', '198.18.3.2');

      const outside = ctl.spawn('outside-dns', process.execPath, [
        outsideDnsScript,
        UPSTREAM_IP,
        '53',
        'outside.example',
        '192.0.2.99',
      ]);
      const simulator = ctl.spawn('apiserver-sim', process.execPath, [
        join(repoRoot, 'packages', 'apiserver-sim', 'bin', 'apiserver-sim'),
        `--address=${APISERVER_IP}`,
        '--port=0',
        `--token=${TOKEN}`,
        `--seed=${join(repoRoot, 'examples', 'cluster')}`,
        `--write-kubeconfig=${kubeconfig}`,
        '--service-cidr=10.96.0.0/12',
        '--service-cidr=fd00:10:96::/112',
        '--log-format=text',
      ]);
      apiserverPort = Number((await simulator.waitForOutput(/^http:\/\/198\.18\.255\.1:(\d+)$/))[1]);
      await outside.waitForOutput(/^listening$/);

      // Replica 1, from the manifest rendered as the article does.
      const manifest = renderManifest(tmp);
      const contract = podContract(manifest);
      assert.deepEqual(contract.probes, [
        '10054/healthcheck/kubedns',
        '8081/readiness',
        '10054/healthcheck/dnsmasq',
        '10054/metrics',
      ]);
      const configDir = mkdtempSync(join(tmp, 'kube-dns-config-'));
      nodes.push(startPod(node1, manifest, kubeconfig, configDir));
      await waitForPod(t, nodes[0]!, contract, client, nodes);

      // From the client Pod, as in the article: its resolver reads exactly kubelet's resolv.conf.
      const resolvConf = await client.run('cat', ['/etc/resolv.conf']);
      assert.equal(resolvConf.stdout, POD_RESOLV_CONF);
      const nslookup = await client.run('nslookup', ['kubernetes.default']);
      assert.equal(nslookup.code, 0, nslookup.stdout + nslookup.stderr);
      t.diagnostic(`client$ nslookup kubernetes.default\n${nslookup.stdout.trimEnd()}`);
      assert.match(nslookup.stdout, /^Server:\s+10\.96\.0\.10$/m);
      assert.match(nslookup.stdout, /^Address:\s+10\.96\.0\.10#53$/m);
      assert.match(nslookup.stdout, /^Name:\s+kubernetes\.default\.svc\.cluster\.local\nAddress: 10\.96\.0\.1$/m);

      const getent = await client.run('getent', ['hosts', 'kubernetes.default']);
      assert.equal(getent.stdout.trim().split(/\s+/).join(' '), '10.96.0.1 kubernetes.default.svc.cluster.local');
      const short = await client.run('getent', ['hosts', 'kubernetes']);
      assert.match(short.stdout, /^10\.96\.0\.1\s+kubernetes\.default\.svc\.cluster\.local$/m, 'first search domain');
      const headless = await client.run('getent', ['ahostsv4', 'web.demo']);
      assert.deepEqual([...new Set(headless.stdout.match(/^\S+/gm))].sort(), ['10.244.1.10', '10.244.2.11']);
      const dual = await client.run('getent', ['ahosts', 'dual.demo']);
      assert.ok(dual.stdout.includes('10.96.100.20') && dual.stdout.includes('fd00:10:96::100:20'), dual.stdout);
      const member = await client.run('getent', ['hosts', 'web-0.web.demo']);
      assert.match(member.stdout, /^10\.244\.1\.10\s+web-0\.web\.demo\.svc\.cluster\.local$/m);
      const reverse = await client.run('nslookup', ['10.96.0.10']);
      assert.match(
        reverse.stdout,
        /10\.0\.96\.10\.in-addr\.arpa\s+name = kube-dns\.kube-system\.svc\.cluster\.local\./,
      );
      // Outside the cluster: every search domain is NXDOMAIN, then the name itself goes to the node's resolver.
      const outsideName = await client.run('getent', ['hosts', 'outside.example']);
      assert.match(outsideName.stdout, /^192\.0\.2\.99\s+outside\.example$/m);
      const missing = await client.run('getent', ['hosts', 'nothing-here']);
      assert.equal(missing.code, 2, 'an unknown short name is not found');

      // A Service created through the API resolves from the client within a second.
      const latency = await createAndResolve(ctl, client, 'fresh', '10.96.77.7');
      t.diagnostic(`new Service resolvable from the client ${latency} ms after the POST returned`);
      assert.ok(latency < 1000, `took ${latency} ms`);

      // Replica 2: same simulator, same answers.
      nodes.push(startPod(node2, manifest, kubeconfig, configDir));
      await waitForPod(t, nodes[1]!, contract, null, nodes);
      const questions: Array<[string, string]> = [
        ['kubernetes.default.svc.cluster.local', 'A'],
        ['fresh.default.svc.cluster.local', 'A'],
        ['web.demo.svc.cluster.local', 'A'],
        ['web-1.web.demo.svc.cluster.local', 'A'],
        ['_http._tcp.web.demo.svc.cluster.local', 'SRV'],
        ['api.demo.svc.cluster.local', 'A'],
        ['dual.demo.svc.cluster.local', 'AAAA'],
        ['10.0.96.10.in-addr.arpa', 'PTR'],
      ];
      for (const [name, type] of questions) {
        const one = await digShort(node1, '127.0.0.1', name, type);
        const two = await digShort(node2, '127.0.0.1', name, type);
        assert.ok(one.length > 0, `${name} ${type} answered`);
        assert.deepEqual(two, one, `${name} ${type}: replica 2 answers as replica 1`);
      }
      // The Service address moves to replica 2 (replica 1's link down): the client sees no difference.
      await client.ip('link', 'set', clientLinks[0]!, 'down');
      await client.ip('route', 'replace', `${SERVICE_IP}/32`, 'dev', clientLinks[1]!, 'src', '198.18.4.2');
      const again = await client.run('nslookup', ['kubernetes.default']);
      assert.match(
        again.stdout,
        /^Name:\s+kubernetes\.default\.svc\.cluster\.local\nAddress: 10\.96\.0\.1$/m,
        again.stdout,
      );
      const fresh = await client.run('getent', ['hosts', 'fresh']);
      assert.match(fresh.stdout, /^10\.96\.77\.7\s+fresh\.default\.svc\.cluster\.local$/m);
      const latency2 = await createAndResolve(ctl, client, 'later', '10.96.77.8');
      t.diagnostic(`through replica 2: ${latency2} ms`);
      assert.ok(latency2 < 1000, `took ${latency2} ms`);

      for (const node of nodes) {
        for (const p of node.processes) assert.equal(p.child.exitCode, null, `${p.name} still running\n${logs(nodes)}`);
      }
    } finally {
      await lab?.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    }
  },
);
