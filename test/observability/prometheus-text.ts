import assert from 'node:assert/strict';

/** One sample of the Prometheus text exposition format (0.0.4). */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * A strict parser of the text format: every line is a HELP, a TYPE or a sample; every sample belongs to a family
 * whose TYPE came first (histogram samples as _bucket/_sum/_count); label values are properly escaped; values
 * are numbers (or NaN / +Inf / -Inf). Throws on anything else.
 */
export function parsePrometheusText(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      assert.match(meta[2]!, new RegExp(`^${NAME}$`), `bad metric name in: ${line}`);
      if (meta[1] === 'TYPE') {
        assert.ok(TYPES.has(meta[3]!), `bad type in: ${line}`);
        assert.ok(!types.has(meta[2]!), `TYPE twice for ${meta[2]}`);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment: ${line}`);
    const match = SAMPLE.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const name = match[1]!;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(family), `sample ${name} has no TYPE before it`);
    const labels: Record<string, string> = {};
    if (match[2]) {
      LABEL.lastIndex = 0;
      let consumed = 0;
      for (let m = LABEL.exec(match[2]); m; m = LABEL.exec(match[2])) {
        labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        consumed = LABEL.lastIndex;
      }
      assert.equal(consumed, match[2].length, `bad labels in: ${line}`);
    }
    const raw = match[3]!;
    // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
    const value = /^[+-]?inf$/i.test(raw) ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw);
    assert.ok(/^nan$/i.test(raw) || !Number.isNaN(value), `bad value in: ${line}`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}

/** The value of the one sample with this name and (at least) these labels; undefined when there is none. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
