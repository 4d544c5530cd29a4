// Secret values for signature checks, read from environment variables or files (Vault agent /
// Kubernetes secret mounts). A provider may have several at once: during a rotation both the old
// and the new secret verify. Values are re-read every few seconds so a rotated file takes effect
// without a restart. They never appear in logs or responses.
import { readFileSync } from 'node:fs';
import type { SecretSource } from './config.js';

const CACHE_MS = 5000;

export class SecretSet {
  private cached: { at: number; values: Buffer[] } | undefined;

  constructor(
    readonly name: string,
    private readonly sources: SecretSource[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  get configured(): boolean {
    return this.sources.length > 0;
  }

  /** Current secret values; sources that are unset or unreadable are skipped. */
  values(now = Date.now()): Buffer[] {
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.values;
    const values: Buffer[] = [];
    for (const source of this.sources) {
      try {
        const value = 'env' in source ? this.env[source.env] : readFileSync(source.file, 'utf8');
        const trimmed = value?.trim();
        if (trimmed) values.push(Buffer.from(trimmed));
      } catch {
        // an unreadable file is like an unset variable: that secret does not verify anything
      }
    }
    this.cached = { at: now, values };
    return values;
  }
}
