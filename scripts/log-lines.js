// Output of the local stack's children. In text mode (the local default) each line gets the
// process's name in front, and JSON log lines (the gateway's pino logs) become
// `HH:MM:SS LEVEL message key=value ...`. In json mode lines pass through untouched, so they stay
// one JSON object per line.
import { createInterface } from 'node:readline';

const PINO_LEVELS = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
// Fields every pino line carries that the text form shows elsewhere or drops.
const DROP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

function value(v) {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** One JSON log line (pino's or the worker's JSON format) as text; other lines unchanged. */
export function humanLine(line) {
  if (!line.startsWith('{')) return line;
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || (entry.msg === undefined && entry.message === undefined)) return line;
  const time = entry.time === undefined ? '' : new Date(entry.time).toISOString().slice(11, 23);
  const level = (PINO_LEVELS[entry.level] ?? String(entry.level ?? 'info')).toUpperCase();
  const msg = entry.msg ?? entry.message;
  const fields = Object.entries(entry)
    .filter(([k]) => !DROP.has(k) && k !== 'message')
    .map(([k, v]) => `${k}=${value(v)}`);
  return [time, level.padEnd(5), msg, ...fields].filter(Boolean).join(' ');
}

/** Copies a child's stdout and stderr to ours, line by line, in the given format. */
export function relayOutput(child, name, format) {
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    if (!stream) continue;
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => out.write(format === 'json' ? `${line}\n` : `[${name}] ${humanLine(line)}\n`));
  }
}
