// A worker process for crash tests: every role, ledger-backed MOCKED activities, task queues from
// SHIPYARD_*_QUEUE. The test kills it with SIGKILL and starts another.
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { taskQueueOverrides } from '../../config/temporal.js';
import { createWorker, ROLES } from '../../workers/worker.js';
import { ledgerActivities } from './ledger-activities.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const ledger = process.env.SHIPYARD_TEST_LEDGER!;
const slow = Object.fromEntries(
  (process.env.SHIPYARD_TEST_SLOW ?? '')
    .split(',')
    .filter(Boolean)
    .map((s) => {
      const [name, ms] = s.split(':');
      return [name, Number(ms)];
    }),
);
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
const activities = ledgerActivities(ledger, slow);
const workers = await Promise.all(
  ROLES.map((role) => createWorker(role, { connection, namespace: 'default', taskQueues: taskQueueOverrides(), activities })),
);
process.stdout.write('ready\n');
await Promise.all(workers.map((w) => w.run()));
