// Durations in the release spec are strings such as "30s", "5m", "1h30m", "24h", "500ms", "2d".
// Pure and dependency-free: workflows import it, so it must stay deterministic.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** Milliseconds in a spec duration, or throws with a message that says what a duration looks like. */
export function parseDuration(text: string): number {
  const trimmed = String(text).trim();
  if (!WHOLE.test(trimmed)) {
    throw new Error(`'${text}' is not a duration (use a number with a unit: 500ms, 30s, 5m, 1h30m, 2d)`);
  }
  let total = 0;
  for (const match of trimmed.matchAll(PART)) total += Number(match[1]) * UNIT_MS[match[2]];
  return Math.round(total);
}

export function isDuration(text: unknown): boolean {
  return typeof text === 'string' && WHOLE.test(text.trim());
}

/** Compact human form: 90000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
