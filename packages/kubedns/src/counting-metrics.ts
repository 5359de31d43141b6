import type { Metric, Registry } from 'prom-client';

/**
 * Counters and histograms for per-query accounting. prom-client hashes the label set on every `inc` and
 * `observe`, even on a child from `labels()`, which costs more than answering a cached query; these keep
 * plain numbers in pre-bound children and hand them to the prom-client registry only when it is scraped
 * (the same exposition, HELP and TYPE lines, `_bucket`/`_sum`/`_count` series).
 */

type Labels = Record<string, string>;

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

export interface CounterChild {
  inc(by?: number): void;
}

export interface HistogramChild {
  observe(value: number): void;
}

abstract class CountingMetric<Child> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  protected readonly children = new Map<string, { labels: Labels; child: Child }>();
  private readonly labelNames: readonly string[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    registry.registerMetric(this as unknown as Metric);
  }

  /** The child for one label set; bind it once and keep it. */
  labels(labels: Labels): Child {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let entry = this.children.get(key);
    if (entry === undefined) {
      const picked: Labels = {};
      for (const n of this.labelNames) picked[n] = labels[n] ?? '';
      entry = { labels: picked, child: this.newChild() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  abstract get(): Promise<MetricData>;
  abstract reset(): void;
  protected abstract newChild(): Child;
}

class CountingCounterChild implements CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class CountingCounter extends CountingMetric<CountingCounterChild> {
  readonly type = 'counter' as const;

  get(): Promise<MetricData> {
    const values: MetricValue[] = [];
    for (const { labels, child } of this.children.values()) values.push({ labels, value: child.value });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    for (const { child } of this.children.values()) child.value = 0;
  }

  protected newChild(): CountingCounterChild {
    return new CountingCounterChild();
  }
}

class CountingHistogramChild implements HistogramChild {
  /** Per bucket, not cumulative; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class CountingHistogram extends CountingMetric<CountingHistogramChild> {
  readonly type = 'histogram' as const;
  private readonly bounds: readonly number[];

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    super(registry, name, help, labelNames);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }

  get(): Promise<MetricData> {
    const values: MetricValue[] = [];
    for (const { labels, child } of this.children.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += child.counts[i]!;
        values.push({
          labels: { ...labels, le: this.bounds[i]! },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: child.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: child.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    for (const { child } of this.children.values()) {
      child.counts.fill(0);
      child.sum = 0;
      child.count = 0;
    }
  }

  protected newChild(): CountingHistogramChild {
    return new CountingHistogramChild(this.bounds);
  }
}
