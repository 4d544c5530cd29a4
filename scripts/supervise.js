// Keeps a process of the local stack running: a process that exits while the stack is not stopping
// is started again after a backoff (1 s, 2 s, 4 s ... capped at 30 s; back to 1 s once a run lasted
// 60 s). Used by scripts/start.js for the worker, the gateway and the Temporal dev server.

export const BACKOFF_START_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;
export const HEALTHY_RUN_MS = 60_000;

/** The delay before restart number `failures` (1-based count of consecutive short runs). */
export function backoffMs(failures) {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** Math.max(0, failures - 1));
}

const clock = () => new Date().toISOString().slice(11, 19);

/**
 * Supervises one process. `start()` returns (a promise of) { pid, onExit(cb) } where cb receives
 * (code, signal) once; it may throw (the start failed: retried like an exit). `onStart(pid)` and
 * `log(message, { loud })` report. Returns { stop() } which ends restarts; stopping the process itself
 * is the caller's job.
 */
export function supervise({ name, start, onStart = () => undefined, log, shouldRestart = () => true }) {
  let failures = 0;
  let stopped = false;
  let timer;
  let current;

  const schedule = (what, ranMs) => {
    if (stopped || !shouldRestart()) return;
    failures = ranMs >= HEALTHY_RUN_MS ? 1 : failures + 1;
    const delay = backoffMs(failures);
    const at = new Date(Date.now() + delay).toISOString().slice(11, 19);
    log(`${name} ${what}; restarting in ${delay / 1000}s (at ${at}, restart #${failures} in a row)`, { loud: true });
    timer = setTimeout(run, delay);
  };

  const run = async () => {
    if (stopped) return;
    const started = Date.now();
    try {
      current = await start();
    } catch (err) {
      schedule(`failed to start (${err.message})`, 0);
      return;
    }
    if (stopped) return;
    onStart(current.pid);
    current.onExit((code, signal) => {
      const ran = Date.now() - started;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      schedule(`(pid ${current.pid}) died at ${clock()} with ${how} after ${(ran / 1000).toFixed(1)}s`, ran);
    });
  };

  const ready = run();
  return {
    ready,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
