import type { ApiServerHandle } from '@kube-dns/apiserver-sim';
import type { Random } from './random.js';

/**
 * Random but reproducible changes to the cluster through the simulator's object API (which works while
 * the simulator is "down": the store stays, only the network goes): services and headless services
 * created and deleted, endpoints turning ready and unready, slices and whole namespaces deleted.
 * The `stable` namespace is never touched: its names must answer throughout every fault.
 */

export const STABLE_NAMESPACE = 'stable';

type Json = Record<string, unknown>;

interface Endpoint {
  addresses: string[];
  hostname?: string;
  conditions: { ready: boolean };
}

export class ClusterChurn {
  private counter = 0;
  private ipCounter = 0;
  /** Operations applied so far, for failure messages. */
  readonly log: string[] = [];

  private readonly sim: ApiServerHandle;
  private readonly rng: Random;

  constructor(sim: ApiServerHandle, rng: Random) {
    this.sim = sim;
    this.rng = rng;
  }

  private nextIp(): string {
    const n = ++this.ipCounter;
    return `10.200.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  }

  private namespaces(): string[] {
    return (this.sim.objects.list('Namespace') as Json[])
      .map((ns) => (ns['metadata'] as { name: string }).name)
      .filter((name) => name === 'default' || name.startsWith('team-'));
  }

  private services(kind: 'clusterip' | 'headless' | 'any'): Array<{ namespace: string; name: string }> {
    return (this.sim.objects.list('Service') as Json[])
      .map((s) => ({
        meta: s['metadata'] as { name: string; namespace: string },
        spec: s['spec'] as { clusterIP?: string },
      }))
      .filter(
        ({ meta }) =>
          meta.namespace !== STABLE_NAMESPACE && meta.namespace !== 'kube-system' && meta.name !== 'kubernetes',
      )
      .filter(({ spec }) => kind === 'any' || (kind === 'headless') === (spec.clusterIP === 'None'))
      .map(({ meta }) => ({ namespace: meta.namespace, name: meta.name }));
  }

  private slices(): Array<{ namespace: string; name: string; endpoints: Endpoint[] }> {
    return (this.sim.objects.list('EndpointSlice') as Json[])
      .map((s) => ({
        meta: s['metadata'] as { name: string; namespace: string },
        endpoints: (s['endpoints'] as Endpoint[]) ?? [],
      }))
      .filter(({ meta }) => meta.namespace !== STABLE_NAMESPACE)
      .map(({ meta, endpoints }) => ({ namespace: meta.namespace, name: meta.name, endpoints }));
  }

  createClusterIp(namespace: string): void {
    const name = `svc-${++this.counter}`;
    this.sim.objects.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    this.log.push(`+svc ${namespace}/${name}`);
  }

  createHeadless(namespace: string, endpoints = this.rng.int(1, 4)): void {
    const name = `hl-${++this.counter}`;
    this.sim.objects.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
    });
    this.createSlice(namespace, name, endpoints);
    this.log.push(`+headless ${namespace}/${name}`);
  }

  private createSlice(namespace: string, service: string, count: number): void {
    this.sim.objects.create({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${service}-${++this.counter}`, namespace, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      endpoints: Array.from({ length: count }, (_, i) => this.endpoint(i)),
    });
  }

  private endpoint(i: number): Endpoint {
    return {
      addresses: [this.nextIp()],
      ...(this.rng.bool(0.6) ? { hostname: `h-${this.counter}-${i}` } : {}),
      conditions: { ready: this.rng.bool(0.8) },
    };
  }

  /** One random change; returns what it did. */
  step(): string {
    const roll = this.rng.int(0, 99);
    const namespaces = this.namespaces();
    const namespace = this.rng.pick(namespaces.length > 0 ? namespaces : ['default']);
    const services = this.services('any');
    const slices = this.slices();
    let done: string;
    if (roll < 22 || services.length < 4) {
      this.createClusterIp(namespace);
      done = 'create service';
    } else if (roll < 40) {
      this.createHeadless(namespace);
      done = 'create headless service';
    } else if (roll < 55) {
      const victim = this.rng.pick(services);
      this.sim.objects.delete({ kind: 'Service', namespace: victim.namespace, name: victim.name });
      done = `delete service ${victim.namespace}/${victim.name}`;
    } else if (roll < 75 && slices.length > 0) {
      const slice = this.rng.pick(slices);
      const endpoints = slice.endpoints.map((e) =>
        this.rng.bool(0.5) ? { ...e, conditions: { ready: !e.conditions.ready } } : e,
      );
      this.sim.objects.patch({ kind: 'EndpointSlice', namespace: slice.namespace, name: slice.name }, { endpoints });
      done = `flip readiness in ${slice.namespace}/${slice.name}`;
    } else if (roll < 85 && slices.length > 0) {
      const slice = this.rng.pick(slices);
      const endpoints =
        this.rng.bool(0.5) && slice.endpoints.length > 0
          ? slice.endpoints.slice(1)
          : [...slice.endpoints, this.endpoint(slice.endpoints.length)];
      this.sim.objects.patch({ kind: 'EndpointSlice', namespace: slice.namespace, name: slice.name }, { endpoints });
      done = `resize ${slice.namespace}/${slice.name}`;
    } else if (roll < 92 && slices.length > 0) {
      const slice = this.rng.pick(slices);
      this.sim.objects.delete({ kind: 'EndpointSlice', namespace: slice.namespace, name: slice.name });
      done = `delete slice ${slice.namespace}/${slice.name}`;
    } else if (roll < 97 || namespaces.length < 3) {
      const name = `team-${++this.counter}`;
      this.sim.objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      this.createClusterIp(name);
      this.createHeadless(name, 2);
      done = `create namespace ${name}`;
    } else {
      const victim = this.rng.pick(namespaces.filter((n) => n !== 'default'));
      this.sim.objects.delete({ kind: 'Namespace', name: victim });
      done = `delete namespace ${victim}`;
    }
    this.log.push(done);
    return done;
  }

  steps(n: number): void {
    for (let i = 0; i < n; i++) this.step();
  }
}

/** The names that must answer through every fault: services and a headless service in `stable`. */
export function seedStableNamespace(sim: ApiServerHandle): void {
  sim.objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: STABLE_NAMESPACE } });
  for (let i = 0; i < 5; i++) {
    sim.objects.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `api-${i}`, namespace: STABLE_NAMESPACE },
      spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
  }
  sim.objects.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'store', namespace: STABLE_NAMESPACE },
    spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
  });
  sim.objects.create({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'store-1', namespace: STABLE_NAMESPACE, labels: { 'kubernetes.io/service-name': 'store' } },
    addressType: 'IPv4',
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['10.199.0.1'], hostname: 'store-0', conditions: { ready: true } },
      { addresses: ['10.199.0.2'], hostname: 'store-1', conditions: { ready: true } },
    ],
  });
}
