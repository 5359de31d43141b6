import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseCommandLine as parseKubeDns } from '@kube-dns/kubedns/cli';
import { parseCommandLine as parseDnsmasqCache } from '@kube-dns/dnsmasq-cache/cli';
import { parseCommandLine as parseSidecar } from '@kube-dns/sidecar/cli';
import {
  deploymentSpec,
  findObject,
  loadManifest,
  manifestsDir,
  parseManifest,
  type Container,
  type KubeObject,
} from './manifest-files.js';
import { dnsPort, httpEndpoints, programOf, sidecarProbes } from './served-endpoints.js';

/** The container's environment as the kubelet sets it from the manifest (literal values only). */
function containerEnv(c: Container): NodeJS.ProcessEnv {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? '']));
}

function containersOf(objects: KubeObject[]): Container[] {
  return deploymentSpec(findObject(objects, 'Deployment', 'kube-dns')).template.spec.containers;
}

function byName(containers: Container[], name: string): Container {
  const found = containers.find((c) => c.name === name);
  assert.ok(found, `no container ${name}`);
  return found;
}

const committed = containersOf(loadManifest('kube-dns.yaml'));

/** Parses a container's args with its program's own CLI; throws what the program would print at startup. */
function parse(c: Container): { print: string | null } {
  const args = c.args ?? [];
  switch (programOf(c)) {
    case 'kube-dns':
      return parseKubeDns(args, containerEnv(c));
    case 'dnsmasq-cache':
      return parseDnsmasqCache(args, containerEnv(c));
    case 'sidecar':
      return parseSidecar(args, containerEnv(c));
  }
}

describe("the Deployment's args, through our programs' own command lines", () => {
  for (const c of committed) {
    test(`${c.name}: ${programOf(c)} accepts its args and would run (not print help or a version)`, () => {
      assert.equal(parse(c).print, null);
    });
  }

  test('kube-dns: the zone, ports and config source the probes and RBAC assume', () => {
    const c = byName(committed, 'kubedns');
    const config = parseKubeDns(c.args ?? [], containerEnv(c));
    assert.equal(config.domain, 'cluster.local');
    assert.equal(config.dnsPort, dnsPort(c));
    const served = httpEndpoints(c);
    assert.deepEqual(served[0], { port: config.healthzPort, path: '/readiness' });
    assert.ok(config.metrics, 'metrics on (PROMETHEUS_PORT)');
    assert.deepEqual(served[1], { port: config.metrics.port, path: config.metrics.path });
    assert.equal(config.configDir, '/kube-dns-config');
    assert.equal(config.configMap, null, 'no API access to ConfigMaps needed');
    assert.equal(config.endpointsApi, 'endpointslices', 'the ClusterRole grants EndpointSlices, not Endpoints');
    assert.notEqual(config.podRecords, 'verified', 'the ClusterRole grants no Pods');
    assert.equal(config.kubeMasterUrl, null, 'in-cluster service account');
    assert.equal(config.kubecfgFile, null);
  });

  test('dnsmasq-cache: port 53, the original cache settings, the cluster zones to kube-dns', () => {
    const c = byName(committed, 'dnsmasq');
    const config = parseDnsmasqCache(c.args ?? [], containerEnv(c));
    assert.equal(config.port, dnsPort(c));
    assert.equal(config.port, 53);
    assert.equal(config.cacheSize, 1000);
    assert.equal(config.negativeCache, false);
    assert.equal(config.dnsLoopDetect, true);
    assert.deepEqual(config.logTarget, { kind: 'stderr' });
    assert.equal(config.configDir, '/etc/k8s/dns/dnsmasq-nanny');
    const kubeDnsPort = dnsPort(byName(committed, 'kubedns'));
    assert.deepEqual(config.servers, [
      { kind: 'forward', domains: ['cluster.local'], server: { host: '127.0.0.1', port: kubeDnsPort } },
      { kind: 'forward', domains: ['in-addr.arpa'], server: { host: '127.0.0.1', port: kubeDnsPort } },
      { kind: 'forward', domains: ['ip6.arpa'], server: { host: '127.0.0.1', port: kubeDnsPort } },
    ]);
  });

  test('sidecar: the probes and the port the liveness checks use', () => {
    const c = byName(committed, 'sidecar');
    const config = parseSidecar(c.args ?? [], containerEnv(c));
    assert.deepEqual(
      config.probes.map((p) => ({ label: p.label, host: p.host, port: p.port, name: p.name.replace(/\.$/, '') })),
      sidecarProbes(c),
    );
    assert.ok(config.probes.every((p) => p.type === 'SRV'));
    const [metrics, ...healthchecks] = httpEndpoints(c);
    assert.deepEqual(metrics, { port: config.prometheusPort, path: config.prometheusPath });
    assert.ok(healthchecks.every((endpoint) => endpoint.port === config.prometheusPort));
  });

  test('the template rendered for another cluster domain parses too', () => {
    const rendered = execFileSync('sh', [join(manifestsDir, 'generate.sh'), '-'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, DNS_SERVER_IP: '10.0.0.10', DNS_DOMAIN: 'corp.example' },
    });
    const containers = containersOf(parseManifest(rendered, 'rendered for corp.example'));
    for (const c of containers) assert.equal(parse(c).print, null);
    const kubedns = byName(containers, 'kubedns');
    assert.equal(parseKubeDns(kubedns.args ?? [], containerEnv(kubedns)).domain, 'corp.example');
  });

  test('a misspelt flag in any container would be caught', () => {
    for (const c of committed) {
      const typo = { ...c, args: [...(c.args ?? []), '--no-such-flag=1'] };
      assert.throws(() => parse(typo), /no-such-flag/, c.name);
    }
  });
});
