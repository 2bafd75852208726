// A small Prometheus registry (text exposition format 0.0.4). prom-client would do, but costs
// memory on a Pi for features we do not use; this is counters, gauges and histograms only.

type Labels = Readonly<Record<string, string>>;

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelKey = (labels: Labels): string =>
  Object.keys(labels).sort().map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',');
const fmt = (name: string, key: string, value: number): string => `${name}${key ? `{${key}}` : ''} ${Number.isFinite(value) ? value : 0}`;

/** One labelled series of a counter, for a hot path that would otherwise rebuild its label key. */
export interface CounterSeries { inc(by?: number): void }

export class Counter implements Metric {
  readonly type = 'counter' as const;
  private readonly values = new Map<string, { value: number }>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    this.series(labels).inc(by);
  }
  series(labels: Labels = {}): CounterSeries {
    const k = labelKey(labels);
    let cell = this.values.get(k);
    if (!cell) this.values.set(k, (cell = { value: 0 }));
    const c = cell;
    return { inc: (by = 1) => { c.value += by; } };
  }
  render(): string[] {
    return [...this.values].map(([k, c]) => fmt(this.name, k, c.value));
  }
}

export class Gauge implements Metric {
  readonly type = 'gauge' as const;
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, private readonly collect?: (set: (v: number, l?: Labels) => void) => void) {}
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), value);
  }
  render(): string[] {
    if (this.collect) {
      this.values.clear();
      this.collect((v, l = {}) => this.set(v, l));
    }
    return [...this.values].map(([k, v]) => fmt(this.name, k, v));
  }
}

/** One labelled series of a histogram (see CounterSeries). */
export interface HistogramSeries { observe(value: number): void }

export class Histogram implements Metric {
  readonly type = 'histogram' as const;
  private readonly all = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, private readonly buckets: readonly number[]) {}
  observe(value: number, labels: Labels = {}): void {
    this.series(labels).observe(value);
  }
  series(labels: Labels = {}): HistogramSeries {
    const k = labelKey(labels);
    let s = this.all.get(k);
    if (!s) this.all.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    const cell = s;
    const buckets = this.buckets;
    return {
      observe: (value) => {
        for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]!) cell.counts[i]! += 1;
        cell.sum += value;
        cell.count += 1;
      },
    };
  }
  render(): string[] {
    const lines: string[] = [];
    for (const [k, s] of this.all) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(fmt(`${this.name}_sum`, k, s.sum), fmt(`${this.name}_count`, k, s.count));
    }
    return lines;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  register<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  counter(name: string, help: string): Counter { return this.register(new Counter(name, help)); }
  gauge(name: string, help: string, collect?: (set: (v: number, l?: Labels) => void) => void): Gauge {
    return this.register(new Gauge(name, help, collect));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, buckets));
  }

  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      out.push(`# HELP ${m.name} ${m.help.replace(/\n/g, ' ')}`, `# TYPE ${m.name} ${m.type}`, ...m.render());
    }
    return `${out.join('\n')}\n`;
  }
}
