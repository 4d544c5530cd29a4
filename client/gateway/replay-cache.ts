// Replay protection for chat callbacks: a signed request is accepted once. Signatures already bound
// requests to a time window (signatures.ts); within that window a captured request could be sent
// again, so each accepted request's key is remembered until its window has passed. Bounded: when full,
// the entries closest to expiry go first (they would be refused by the window check soon anyway).
import { createHash } from 'node:crypto';

export class ReplayCache {
  private readonly seen = new Map<string, number>(); // key -> expiry (ms since epoch)

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 50_000,
  ) {}

  /**
   * True the first time `parts` (provider, signature, body...) are seen within the window, false
   * for a replay. Only keys of requests that passed their signature check should be recorded.
   */
  firstSeen(now: number, ...parts: (string | Buffer | undefined)[]): boolean {
    const hash = createHash('sha256');
    for (const p of parts) hash.update(p ?? '').update('\0');
    const key = hash.digest('base64');
    this.expire(now);
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return false;
    // Twice the window: a request is valid from window before its timestamp to window after it.
    this.seen.set(key, now + 2 * this.windowMs);
    if (this.seen.size > this.maxEntries) this.evictOldest();
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private expire(now: number): void {
    // Insertion order is expiry order (fixed lifetime), so expired entries are at the front.
    for (const [key, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(key);
    }
  }

  private evictOldest(): void {
    const excess = this.seen.size - this.maxEntries;
    let n = 0;
    for (const key of this.seen.keys()) {
      if (n++ >= excess) break;
      this.seen.delete(key);
    }
  }
}
