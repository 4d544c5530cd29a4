// Deploy windows, evaluated with workflow time so the decision replays identically.
// Imports the expression parser directly: the package index also pulls in a file reader.
import { CronExpressionParser } from 'cron-parser/dist/CronExpressionParser.js';
import type { DenyWindowSpec, PolicySpec } from '../spec/schema.js';
import { parseDuration } from '../spec/duration.js';

export interface DenyWindowHit {
  window: DenyWindowSpec;
  /** When the window opened and when it closes. */
  openedAt: Date;
  endsAt: Date;
}

/** The deny window `now` falls in (the one that stays closed longest), or null when deploys are allowed. */
export function activeDenyWindow(policy: PolicySpec, now: Date): DenyWindowHit | null {
  let hit: DenyWindowHit | null = null;
  for (const window of policy.denyWindows) {
    // The latest opening at or before now; one millisecond ahead so an opening at exactly `now` counts.
    const expression = CronExpressionParser.parse(window.cron, {
      currentDate: new Date(now.getTime() + 1),
      tz: window.timezone,
    });
    const openedAt = expression.prev().toDate();
    const endsAt = new Date(openedAt.getTime() + parseDuration(window.duration));
    if (now < endsAt && (!hit || endsAt > hit.endsAt)) hit = { window, openedAt, endsAt };
  }
  return hit;
}

/** Glob on git refs: * matches anything (including /), ? one character. */
export function refMatches(pattern: string, ref: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return regex.test(ref);
}

/** Why the trigger may not release to `environment` under the policy, or undefined when it may. */
export function environmentPolicyViolation(policy: PolicySpec, environment: string, trigger: { kind: string; ref?: string }): string | undefined {
  const rule = policy.environments?.[environment];
  if (!rule) return undefined;
  if (rule.allowedTriggers && !rule.allowedTriggers.includes(trigger.kind as never)) {
    return `${environment} may be released by ${rule.allowedTriggers.join(', ')} only (this release: ${trigger.kind})`;
  }
  if (rule.allowedRefs && !(trigger.ref && rule.allowedRefs.some((p) => refMatches(p, trigger.ref!)))) {
    return `${environment} takes ${rule.allowedRefs.join(', ')} only (this release: ${trigger.ref ?? 'no ref'})`;
  }
  return undefined;
}
