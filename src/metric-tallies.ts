import { type Counter, Histogram, type HistogramConfiguration, type LabelValues, type MetricObjectWithValues, type MetricType, type MetricValueWithName } from 'prom-client';

/**
 * Memoises the child of a labelled metric per key: `counter.labels(…)` hashes its labels on every
 * call, which shows on the webhook path. Keys must come from a bounded set.
 */
export function labelCache<K, C>(make: (key: K) => C): (key: K) => C {
  const children = new Map<K, C>();
  return (key) => {
    let child = children.get(key);
    if (child === undefined) children.set(key, (child = make(key)));
    return child;
  };
}

/**
 * Increments of a labelled counter added up in plain numbers and handed to the counter when it is
 * read (a scrape, `get()`: the counter's `collect` calls `flush`). prom-client hashes and validates
 * the labels on every `inc()`, through a `labels()` child too, and the webhook path counts twice per
 * request. Label sets must come from a bounded set, and each one's child be kept (see labelCache).
 */
export class CounterTally<T extends string> {
  readonly #children: { readonly labels: LabelValues<T>; count: number }[] = [];

  constructor(readonly counter: Counter<T>) {}

  /** The increments of one label set, as a `labels()` child of the counter. */
  labels(labels: LabelValues<T>): { inc(): void } {
    const child = {
      labels,
      count: 0,
      inc() {
        this.count += 1;
      },
    };
    this.#children.push(child);
    return child;
  }

  flush(): void {
    for (const child of this.#children) {
      if (child.count === 0) continue;
      this.counter.inc(child.labels, child.count);
      child.count = 0;
    }
  }
}

// prom-client's typings declare MetricType as a numeric enum it does not export; at run time the type is
// the string of the text format.
const histogramType = 'histogram' as unknown as MetricType;

/** One label set's observations, counted in plain numbers. */
interface Child<T extends string> {
  readonly labels: LabelValues<T>;
  /** Observations per bucket (not cumulative); the last slot is above every bound (+Inf). */
  readonly counts: Float64Array;
  sum: number;
}

/**
 * A Prometheus histogram whose observations are counted in plain numbers and turned into the
 * exposition only when it is read (a scrape, `get()`), as CounterTally does for counters. prom-client's
 * `observe()` validates and hashes the labels on every call (about 0.65 µs here), which the webhook
 * path would pay on every request; an observation here is a bucket search and two additions.
 * Observe only through `child()`: this class reads its own counts, not prom-client's. Label sets must
 * come from a bounded set, and each one's child be kept (see labelCache).
 * The text format is Prometheus's: https://prometheus.io/docs/instrumenting/exposition_formats/
 * (cumulative `_bucket{le}` series ending with `le="+Inf"`, then `_sum` and `_count`).
 */
export class HistogramTally<T extends string> extends Histogram<T> {
  readonly #bounds: readonly number[];
  readonly #children: Child<T>[] = [];

  readonly #name: string;
  readonly #help: string;

  constructor(configuration: HistogramConfiguration<T> & { readonly buckets: number[] }) {
    super(configuration);
    this.#name = configuration.name;
    this.#help = configuration.help;
    this.#bounds = [...configuration.buckets].sort((a, b) => a - b);
  }

  /** The observations of one label set. */
  child(labels: LabelValues<T>): { observe(value: number): void } {
    const bounds = this.#bounds;
    const child: Child<T> = { labels, counts: new Float64Array(bounds.length + 1), sum: 0 };
    this.#children.push(child);
    return {
      observe(value: number): void {
        let i = 0;
        while (i < bounds.length && value > bounds[i]!) i += 1;
        child.counts[i]! += 1;
        child.sum += value;
      },
    };
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    return { name: this.#name, help: this.#help, type: histogramType, aggregator: 'sum', collect: () => undefined, values: this.#values() };
  }

  /** What prom-client's Registry reads for the text format (prom-client 15: `getForPromString` before `get`). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    return this.get();
  }

  override reset(): void {
    super.reset();
    if (!(#children in this)) return; // called by prom-client's constructor, before this class's fields exist
    for (const child of this.#children) {
      child.counts.fill(0);
      child.sum = 0;
    }
  }

  #values(): MetricValueWithName<T>[] {
    const out: MetricValueWithName<T>[] = [];
    for (const { labels, counts, sum } of this.#children) {
      let cumulative = 0;
      counts.forEach((count, i) => {
        cumulative += count;
        const le = i < this.#bounds.length ? this.#bounds[i]! : '+Inf';
        out.push({ metricName: `${this.#name}_bucket`, labels: { le, ...labels } as LabelValues<T>, value: cumulative });
      });
      out.push({ metricName: `${this.#name}_sum`, labels, value: sum });
      out.push({ metricName: `${this.#name}_count`, labels, value: cumulative });
    }
    return out;
  }
}
