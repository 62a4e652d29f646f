const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A number without a unit: "15" could mean 15 ms or 15 s, so it is refused (0 alone is unambiguous). */
export class MissingUnitError extends Error {
  override readonly name = 'MissingUnitError';
  constructor(readonly value: string) {
    super(`${value} has no unit: ${unitHint(value)}`);
  }
}

/**
 * What to write instead of a bare number. No unit is guessed: seconds, the likeliest for a timeout, would be a
 * disaster for a retention (HOOKD_RETENTION=30 meant as days would delete every message after 30 s).
 */
export const unitHint = (value: string): string => `write it with its unit, e.g. ${value}s, ${value}m, ${value}h or ${value}d (units: ms, s, m, h, d)`;

/** Parses "250ms", "5s", "30m", "2h", "5d" or "0". Throws on anything else, a bare non-zero number included. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) throw new Error(`invalid duration "${text}" (expected e.g. 500ms, 5s, 30m, 2h, 1d)`);
  const value = Number(match[1]);
  if (match[2] === undefined) {
    if (value === 0) return 0;
    throw new MissingUnitError(match[1]!);
  }
  return Math.round(value * UNITS_MS[match[2]]!);
}

/** Parses a comma-separated list of durations, e.g. "5s,5m,30m". An empty entry is an error. */
export function parseDurationList(text: string): number[] {
  return text.split(',').map((part) => {
    if (part.trim() === '') throw new Error(`"${text}" has an empty entry`);
    return parseDuration(part);
  });
}
