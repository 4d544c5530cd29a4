// Waiting between polls inside an activity: heartbeat the progress (that is also how cancellation
// reaches the worker), then sleep in a way that a cancellation interrupts at once with Temporal's
// CancelledFailure. Outside an activity (scripts, unit tests) it is a plain sleep.
import { Context } from '@temporalio/activity';

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Heartbeats `details`, then waits `ms`; rejects with CancelledFailure when the activity is cancelled. */
export async function pollPause(ms: number, details?: unknown): Promise<void> {
  const ctx = activityContext();
  if (!ctx) {
    await new Promise((r) => setTimeout(r, ms));
    return;
  }
  ctx.heartbeat(details);
  await ctx.sleep(ms);
}
