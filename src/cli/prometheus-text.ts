// Reads Prometheus text exposition format (what /metrics answers) into samples, for `orchard top`.
// Only what prom-client writes is handled: `name{label="value",…} number` lines, # comments skipped.
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format

export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '' || raw.startsWith('#')) continue;
    const match = line.exec(raw);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(label)) labels[key!] = value!.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of a metric's samples whose labels include `where`. */
export function sumOf(samples: readonly MetricSample[], name: string, where: Readonly<Record<string, string>> = {}, filter: (labels: Readonly<Record<string, string>>) => boolean = () => true): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name || !filter(s.labels)) continue;
    if (Object.entries(where).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}
