import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  deploymentSpec,
  findObject,
  loadManifest,
  selects,
  type Container,
  type HttpProbe,
  type SecurityContext,
} from './manifest-files.js';
import { dnsPort, flagValues, httpEndpoints, programOf, servedPorts, sidecarProbes } from './served-endpoints.js';

const objects = loadManifest('kube-dns.yaml');
const deployment = findObject(objects, 'Deployment', 'kube-dns');
const spec = deploymentSpec(deployment);
const pod = spec.template.spec;
const podLabels = spec.template.metadata.labels;
const containers = pod.containers;

function container(name: string): Container {
  const found = containers.find((c) => c.name === name);
  assert.ok(found, `no container ${name}`);
  return found;
}

/** A probe's port as a number: named ports resolve within the probing container, as the kubelet does. */
function probePort(owner: Container, probe: HttpProbe): number {
  const port = probe.httpGet!.port;
  if (typeof port === 'number') return port;
  const named = owner.ports?.find((p) => p.name === port);
  assert.ok(named, `${owner.name}: probe port ${port} is not a port name of this container`);
  return named.containerPort;
}

/** The container that serves GET <port><path> in this Pod, if any. */
function serverOf(port: number, path: string): Container | undefined {
  return containers.find((c) => httpEndpoints(c).some((e) => e.port === port && e.path === path));
}

/** The security context that applies to a container: its own fields over the Pod's. */
function effectiveSecurity(c: Container): SecurityContext {
  return { ...pod.securityContext, ...c.securityContext };
}

describe('kube-dns Pod', () => {
  test('the three containers of the original, each running one of our programs', () => {
    assert.deepEqual(
      containers.map((c) => [c.name, programOf(c)]),
      [
        ['kubedns', 'kube-dns'],
        ['dnsmasq', 'dnsmasq-cache'],
        ['sidecar', 'sidecar'],
      ],
    );
    assert.equal(pod.initContainers, undefined);
  });

  describe('probes', () => {
    for (const c of containers) {
      for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        const probe = c[kind];
        if (probe === undefined) continue;
        test(`${c.name} ${kind}: served by a process of the Pod with its args`, () => {
          assert.ok(probe.httpGet, 'an HTTP probe');
          const port = probePort(c, probe);
          const path = probe.httpGet.path ?? '/';
          const server = serverOf(port, path);
          assert.ok(server, `nothing serves GET :${port}${path}`);
          const declared = server.ports?.find((p) => p.containerPort === port);
          if (declared !== undefined) assert.equal(declared.protocol ?? 'TCP', 'TCP');
          assert.ok(
            !containers.some((other) => other !== server && other.ports?.some((p) => p.containerPort === port)),
            `port ${port} is declared by a container that does not serve it`,
          );
        });
      }
    }

    test('every container has a liveness probe, and a sidecar health check watches the container it restarts', () => {
      const sidecar = container('sidecar');
      for (const c of containers) {
        const probe = c.livenessProbe;
        assert.ok(probe?.httpGet, `${c.name} has no HTTP liveness probe`);
        const path = probe.httpGet.path ?? '/';
        const label = /^\/healthcheck\/(.+)$/.exec(path)?.[1];
        if (label === undefined) {
          assert.equal(c, sidecar, `${c.name}: liveness is not a sidecar health check`);
          continue;
        }
        const dnsProbe = sidecarProbes(sidecar).find((p) => p.label === label);
        assert.ok(dnsProbe, `no --probe labelled ${label}`);
        assert.equal(dnsProbe.host, '127.0.0.1');
        assert.equal(dnsProbe.port, dnsPort(c), `--probe ${label} does not query ${c.name}'s DNS port`);
      }
    });

    test('readiness is kube-dns /readiness, answered by kube-dns itself', () => {
      const kubedns = container('kubedns');
      assert.equal(kubedns.readinessProbe?.httpGet?.path, '/readiness');
      assert.equal(serverOf(probePort(kubedns, kubedns.readinessProbe), '/readiness'), kubedns);
    });

    test('the sidecar probes a name inside the cluster domain, through both servers', () => {
      const domain = flagValues(container('kubedns').args ?? [], '--domain')[0]!.replace(/\.$/, '');
      const probes = sidecarProbes(container('sidecar'));
      assert.deepEqual(probes.map((p) => p.label).sort(), ['dnsmasq', 'kubedns']);
      for (const probe of probes) assert.equal(probe.name, `kubernetes.default.svc.${domain}`);
    });

    test("the cache sends the cluster's zones to kube-dns's port", () => {
      const domain = flagValues(container('kubedns').args ?? [], '--domain')[0]!.replace(/\.$/, '');
      const servers = flagValues(container('dnsmasq').args ?? [], '--server', '-S');
      const target = `127.0.0.1#${dnsPort(container('kubedns'))}`;
      for (const zone of [domain, 'in-addr.arpa', 'ip6.arpa']) {
        assert.ok(servers.includes(`/${zone}/${target}`), `no --server=/${zone}/${target}`);
      }
    });
  });

  describe('ports', () => {
    for (const c of containers) {
      test(`${c.name}: declared container ports are exactly the ports its program serves`, () => {
        const declared = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).sort();
        const served = servedPorts(c)
          .map((p) => `${p.port}/${p.protocol}`)
          .sort();
        assert.deepEqual(declared, served);
      });
    }

    test("port names are the original add-on's", () => {
      assert.deepEqual(
        containers.map((c) => [c.name, (c.ports ?? []).map((p) => p.name)]),
        [
          ['kubedns', ['dns-local', 'dns-tcp-local', 'metrics', 'healthz']],
          ['dnsmasq', ['dns', 'dns-tcp']],
          ['sidecar', ['metrics']],
        ],
      );
    });
  });

  describe('Service kube-dns', () => {
    const service = findObject(objects, 'Service', 'kube-dns');
    const serviceSpec = service.spec as {
      selector: Record<string, string>;
      clusterIP: string;
      ports: Array<{ name: string; port: number; protocol: string; targetPort: string | number }>;
    };

    test("selects the Deployment's Pods, by the label the article uses", () => {
      assert.deepEqual(serviceSpec.selector, { 'k8s-app': 'kube-dns' });
      assert.ok(selects({ matchLabels: serviceSpec.selector }, podLabels));
      assert.equal(service.metadata.namespace, 'kube-system');
      assert.equal(service.metadata.labels?.['kubernetes.io/name'], 'KubeDNS');
    });

    test('53/UDP and 53/TCP at the fixed cluster IP, each to a declared port of the cache', () => {
      assert.equal(serviceSpec.clusterIP, '10.96.0.10');
      assert.deepEqual(
        serviceSpec.ports.map((p) => [p.name, p.port, p.protocol]),
        [
          ['dns', 53, 'UDP'],
          ['dns-tcp', 53, 'TCP'],
        ],
      );
      for (const port of serviceSpec.ports) {
        const targets = containers.flatMap((c) =>
          (c.ports ?? []).filter((p) => p.name === port.targetPort).map((p) => ({ c, p })),
        );
        assert.equal(targets.length, 1, `target port ${port.targetPort} must be declared once`);
        assert.equal(targets[0]!.c.name, 'dnsmasq');
        assert.equal(targets[0]!.p.protocol, port.protocol);
      }
    });
  });

  describe('Deployment', () => {
    test('selects its own template, has no replicas field, and rolls without losing capacity', () => {
      assert.ok(selects(spec.selector, podLabels));
      assert.equal(spec.replicas, undefined, 'replicas belongs to the autoscaler or kubectl scale');
      assert.deepEqual(spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '10%', maxUnavailable: 0 } });
    });

    test('scheduling: critical priority, CriticalAddonsOnly, Linux nodes, spread by hostname', () => {
      const podSpec = pod as typeof pod & {
        priorityClassName?: string;
        tolerations?: Array<{ key?: string; operator?: string }>;
        nodeSelector?: Record<string, string>;
        dnsPolicy?: string;
      };
      assert.equal(podSpec.priorityClassName, 'system-cluster-critical');
      assert.ok(podSpec.tolerations?.some((t) => t.key === 'CriticalAddonsOnly' && t.operator === 'Exists'));
      assert.deepEqual(podSpec.nodeSelector, { 'kubernetes.io/os': 'linux' });
      assert.equal(podSpec.dnsPolicy, 'Default');
      const terms = pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      assert.equal(terms.length, 1);
      assert.equal(terms[0]!.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
      assert.ok(selects(terms[0]!.podAffinityTerm.labelSelector, podLabels));
    });

    test('the kube-dns ConfigMap is optional and mounted read-only where both servers read it', () => {
      const volume = pod.volumes?.find((v) => v.name === 'kube-dns-config');
      assert.deepEqual(volume?.configMap, { name: 'kube-dns', optional: true });
      findObject(objects, 'ConfigMap', 'kube-dns');
      const mounts = containers.flatMap((c) =>
        (c.volumeMounts ?? [])
          .filter((m) => m.name === 'kube-dns-config')
          .map((m) => [c.name, m.mountPath, m.readOnly]),
      );
      assert.deepEqual(mounts, [
        ['kubedns', '/kube-dns-config', true],
        ['dnsmasq', '/etc/k8s/dns/dnsmasq-nanny', true],
      ]);
      assert.deepEqual(flagValues(container('kubedns').args ?? [], '--config-dir'), ['/kube-dns-config']);
      assert.deepEqual(flagValues(container('dnsmasq').args ?? [], '--config-dir'), ['/etc/k8s/dns/dnsmasq-nanny']);
    });

    test('resources: every container requests CPU and memory', () => {
      for (const c of containers) {
        const resources = (c as Container & { resources?: { requests?: Record<string, string> } }).resources;
        assert.ok(resources?.requests?.cpu && resources.requests.memory, c.name);
      }
    });
  });

  describe('security', () => {
    for (const c of containers) {
      test(`${c.name}: non-root, read-only root, no privilege escalation, seccomp RuntimeDefault`, () => {
        const security = effectiveSecurity(c);
        assert.equal(security.runAsNonRoot, true);
        assert.equal(security.runAsUser, 1001);
        assert.equal(security.runAsGroup, 1001);
        assert.equal(security.readOnlyRootFilesystem, true);
        assert.equal(security.allowPrivilegeEscalation, false);
        assert.notEqual(security.privileged, true);
        assert.equal(security.seccompProfile?.type, 'RuntimeDefault');
        assert.deepEqual(security.capabilities?.drop, ['ALL']);
      });
    }

    test('only the container that binds a port below 1024 (the cache, :53) adds a capability: NET_BIND_SERVICE', () => {
      for (const c of containers) {
        const privileged = servedPorts(c).some((p) => p.port < 1024);
        const added = c.securityContext?.capabilities?.add ?? [];
        assert.deepEqual(added, privileged ? ['NET_BIND_SERVICE'] : [], c.name);
      }
      assert.deepEqual(container('dnsmasq').securityContext?.capabilities?.add, ['NET_BIND_SERVICE']);
    });

    test('the API token is mounted into kube-dns only', () => {
      assert.equal(pod.automountServiceAccountToken, false);
      const tokenVolumes = (pod.volumes ?? [])
        .filter((v) => JSON.stringify(v).includes('serviceAccountToken'))
        .map((v) => v.name);
      assert.deepEqual(tokenVolumes, ['kube-api-access']);
      const mountedIn = containers.filter((c) => c.volumeMounts?.some((m) => m.name === 'kube-api-access'));
      assert.deepEqual(
        mountedIn.map((c) => [c.name, c.volumeMounts!.find((m) => m.name === 'kube-api-access')!.mountPath]),
        [['kubedns', '/var/run/secrets/kubernetes.io/serviceaccount']],
      );
    });
  });

  describe('PodDisruptionBudget kube-dns', () => {
    const budget = findObject(objects, 'PodDisruptionBudget', 'kube-dns');
    const budgetSpec = budget.spec as { selector: { matchLabels: Record<string, string> }; maxUnavailable?: number };

    test("selects the Deployment's Pods and lets at most one go at a time", () => {
      assert.equal(budget.metadata.namespace, 'kube-system');
      assert.ok(selects(budgetSpec.selector, podLabels));
      assert.deepEqual(budgetSpec.selector, spec.selector);
      assert.equal(budgetSpec.maxUnavailable, 1);
    });
  });
});
