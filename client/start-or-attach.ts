// "Start this release, or attach to it if it is already running" in ONE StartWorkflowExecution RPC:
// workflowIdConflictPolicy USE_EXISTING makes the server hand back the running execution instead of
// failing, and its answer says whether it started a new one (`started`). The SDK's workflow.start()
// drops that field, so the request is built by the SDK's own createStartWorkflowRequest (payload
// converter, codec, search attributes, memo: exactly what workflow.start sends) and sent here
// (client interceptors are not run: Shipyard configures none).
// A closed execution under REJECT_DUPLICATE still fails with ALREADY_EXISTS (the caller describes it).
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowStartOptions } from '@temporalio/client';

const ALREADY_EXISTS = 6;

export interface StartOrAttach {
  runId: string;
  /** True when this call started the execution; false when it attached to the running one. */
  started: boolean;
}

/** The protected parts of the SDK's WorkflowClient used here (@temporalio/client 1.x). */
interface WorkflowClientInternals {
  createStartWorkflowRequest(input: { options: WorkflowStartOptions; workflowType: string; headers: Record<string, never> }): Promise<object>;
  rethrowGrpcError(err: unknown, fallbackMessage: string, workflowExecution?: { workflowId: string }): never;
}

export async function startOrAttach(client: Client, workflowType: string, options: WorkflowStartOptions): Promise<StartOrAttach> {
  const internals = client.workflow as unknown as WorkflowClientInternals;
  const req = await internals.createStartWorkflowRequest({ options: { ...options, workflowIdConflictPolicy: 'USE_EXISTING' }, workflowType, headers: {} });
  try {
    const res = await client.workflowService.startWorkflowExecution(req);
    // `started` needs Temporal server 1.25+ (docker-compose and the dev server run 1.29).
    return { runId: res.runId, started: res.started === true };
  } catch (err) {
    if ((err as { code?: number }).code === ALREADY_EXISTS) {
      throw new WorkflowExecutionAlreadyStartedError('Workflow execution already started', options.workflowId, workflowType);
    }
    return internals.rethrowGrpcError(err, 'Failed to start Workflow', { workflowId: options.workflowId });
  }
}
