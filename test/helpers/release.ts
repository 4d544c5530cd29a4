// Starting releases in tests through the real client, and reading what Temporal recorded.
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';

const { temporal } = proto;
type temporal = typeof proto.temporal;
import type { ShipyardClient, StartReleaseOptions } from '../../client/index.js';
import type { ReleaseSpec } from '../../spec/schema.js';
import type { ReleaseInput, ReleaseStatus } from '../../workflows/types.js';
import { eventually, randomCommit, type TestQueues } from './temporal.js';

export async function startRelease(
  shipyard: ShipyardClient,
  queues: TestQueues,
  spec: ReleaseSpec,
  extra: Partial<StartReleaseOptions> = {},
) {
  return shipyard.start({
    spec,
    commit: randomCommit(),
    version: 'v1.2.3',
    trigger: { kind: 'cli', by: 'carol' },
    taskQueues: queues,
    ...extra,
  });
}

/** Waits until the status query satisfies `predicate`. */
export function waitForStatus(
  shipyard: ShipyardClient,
  id: string,
  predicate: (s: ReleaseStatus) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<ReleaseStatus> {
  return eventually(
    async () => {
      const s = await shipyard.status(id);
      return predicate(s) ? s : undefined;
    },
    timeoutMs,
    what,
  );
}

export type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

export async function historyOf(shipyard: ShipyardClient, id: string): Promise<HistoryEvent[]> {
  return (await shipyard.history(id)) as HistoryEvent[];
}

/** Event type names without the EVENT_TYPE_ prefix, e.g. TIMER_STARTED. */
export function eventTypes(events: HistoryEvent[]): string[] {
  return events.map((e) => String(temporal.api.enums.v1.EventType[e.eventType as number]).replace(/^EVENT_TYPE_/, ''));
}

/** The args of every accepted update of the given name, decoded from history. */
export function acceptedUpdates(events: HistoryEvent[], name: string): unknown[] {
  return events
    .filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === name)
    .map((e) => {
      const payload = e.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.args!.payloads![0];
      return defaultPayloadConverter.fromPayload(payload as never);
    });
}

/** The release input a workflow was started with (no worker needed, unlike the status query). */
export async function startInput(shipyard: ShipyardClient, id: string): Promise<ReleaseInput> {
  const events = await historyOf(shipyard, id);
  const payload = events[0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  return defaultPayloadConverter.fromPayload(payload as never) as ReleaseInput;
}

/** Activity types scheduled in history, in order. */
export function scheduledActivities(events: HistoryEvent[]): string[] {
  return events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name!);
}
