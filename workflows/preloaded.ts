// The pure libraries the workflow bundle evaluates ONCE per workflow thread and shares between all the
// workflows in it (workers/bundle.ts PRELOAD_MODULES; SDK reuseV8Context). Not imported by any workflow.
//
// Why a module and not the package names: the SDK's preload is a bare `require('<name>')` whose
// result is unused, and webpack drops such a require of a package that declares "sideEffects": false
// (@noble/curves, luxon, ms do), so those were silently evaluated again by every workflow. Importing
// them here and exporting them keeps them in the preload.
//
// Only stateless code belongs here: a shared module's state would leak between releases (the SDK
// deep-freezes shared exports, but not module-level variables). Each entry and why it is safe:
// - @noble/curves ed25519 (+ @noble/hashes): pure functions and frozen constants; its only caches
//   (precomputed base-point windows) are WeakMaps keyed by points, memoizing deterministic values.
// - cron-parser's CronExpressionParser (+ luxon, which it imports): parsing and date arithmetic; luxon's
//   module-level caches hold Intl formatters and zones, and its clock is Date.now, which is the
//   workflow's own deterministic Date in the sandbox. Shipyard never changes luxon's Settings.
// ms is used by @temporalio/common, which the SDK already loads once per thread.
import { ed25519 } from '@noble/curves/ed25519.js';
import { CronExpressionParser } from 'cron-parser/dist/CronExpressionParser.js';

/** Referenced, so the bundler cannot drop the imports above. */
export const PRELOADED = [ed25519, CronExpressionParser] as const;
