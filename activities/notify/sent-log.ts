// Which notifications were already delivered: one marker file per idempotency key, checked before
// sending and written after. A retried activity (or a redelivered task after a worker crash) finds
// the marker and sends nothing. The store is per deploy worker host (SHIPYARD_STATE_DIR); a crash
// between the send and the marker can still duplicate one message.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class SentLog {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private path(key: string): string {
    return join(this.dir, createHash('sha256').update(key).digest('hex'));
  }

  has(key: string): boolean {
    return existsSync(this.path(key));
  }

  record(key: string): void {
    writeFileSync(this.path(key), `${new Date().toISOString()} ${key}\n`);
  }
}
