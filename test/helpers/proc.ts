// What Linux's /proc says about a process: the benches' CPU and memory figures for the processes they
// start (the gateway, the orchestrator, the dev server).
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) the process has used so far. Throws when the process is gone. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}
