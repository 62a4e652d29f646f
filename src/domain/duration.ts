const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "250ms", "5s", "30m", "2h", "5d" or a bare number of milliseconds. Throws on anything else. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) throw new Error(`invalid duration "${text}" (expected e.g. 500ms, 5s, 30m, 2h, 1d)`);
  const value = Number(match[1]);
  return Math.round(value * UNITS_MS[match[2] ?? 'ms']!);
}

/** Parses a comma-separated list of durations, e.g. "5s,5m,30m". */
export function parseDurationList(text: string): number[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map(parseDuration);
}
