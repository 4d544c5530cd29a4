// Exit codes of the shipyard CLI. Jenkins and other CI map them to build results; they are part
// of the public contract (README lists them), so only ever add new ones.
export const EXIT = {
  succeeded: 0,
  error: 1, // could not talk to Temporal, unexpected failure
  usage: 2, // bad flags, invalid spec, bad input
  notFound: 3, // no such release
  refused: 4, // approval/abort refused (validator, not running)
  failed: 10, // release failed (nothing to undo, or an undo failed)
  rolledBack: 11, // release failed and was rolled back
  rejected: 12, // approval rejected or timed out
  aborted: 13, // aborted by signal
  ended: 14, // ended outside Shipyard: cancelled, terminated or timed out in Temporal
} as const;

export function exitCodeForOutcome(outcome: string): number {
  switch (outcome) {
    case 'succeeded':
      return EXIT.succeeded;
    case 'rolled-back':
      return EXIT.rolledBack;
    case 'rejected':
      return EXIT.rejected;
    case 'aborted':
      return EXIT.aborted;
    case 'canceled':
    case 'terminated':
    case 'timed-out':
      return EXIT.ended;
    default:
      return EXIT.failed;
  }
}
