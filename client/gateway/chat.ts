// Chat-ops approvals: what a button press (Slack Block Kit, Feishu card) or a robot command
// (DingTalk) asks for, and the reply shown in chat. The workflow's update validator has the final
// word on whether the person may decide; the gateway only maps chat users to Shipyard identities.
export interface ChatDecision {
  releaseId: string;
  gate?: string;
  decision: 'approve' | 'reject';
  comment?: string;
}

const RELEASE_ID = /^release\/[a-z0-9-]{1,63}\/[a-z0-9+-]{1,200}\/[0-9a-f]{7,64}$/;

/** The value carried by Approve/Reject buttons: JSON {releaseId, gate?, decision}. */
export function parseButtonValue(value: unknown): ChatDecision | { invalid: string } {
  let data: unknown = value;
  if (typeof value === 'string') {
    try {
      data = JSON.parse(value);
    } catch {
      return { invalid: 'button value is not JSON' };
    }
  }
  const v = data as Record<string, unknown> | null;
  if (!v || typeof v !== 'object') return { invalid: 'button value is not an object' };
  if (typeof v.releaseId !== 'string' || !RELEASE_ID.test(v.releaseId)) return { invalid: 'button value has no valid releaseId' };
  if (v.decision !== 'approve' && v.decision !== 'reject') return { invalid: "button decision must be 'approve' or 'reject'" };
  if (v.gate !== undefined && (typeof v.gate !== 'string' || v.gate.length > 200)) return { invalid: 'button gate must be text' };
  return { releaseId: v.releaseId, gate: v.gate as string | undefined, decision: v.decision };
}

/** The value for a button, as notifications put it on cards. */
export function buttonValue(decision: ChatDecision): string {
  return JSON.stringify({ releaseId: decision.releaseId, gate: decision.gate, decision: decision.decision });
}

/** DingTalk robot command: "approve <releaseId> [gate=<gate>] [comment...]" (or reject). */
export function parseCommand(text: unknown): ChatDecision | { invalid: string } {
  if (typeof text !== 'string') return { invalid: 'message has no text' };
  const words = text.trim().split(/\s+/);
  const decision = words[0]?.toLowerCase();
  if (decision !== 'approve' && decision !== 'reject') return { invalid: 'send "approve <release ID> [gate=<gate>] [comment]" or "reject ..."' };
  const releaseId = words[1];
  if (!releaseId || !RELEASE_ID.test(releaseId)) return { invalid: `"${decision}" needs a release ID like release/<service>/<environments>/<commit>` };
  let rest = words.slice(2);
  let gate: string | undefined;
  if (rest[0]?.startsWith('gate=')) {
    gate = rest[0].slice(5);
    rest = rest.slice(1);
  }
  const comment = rest.join(' ').slice(0, 2000) || undefined;
  return { releaseId, gate, decision, comment };
}

export function decidedText(decision: ChatDecision, identity: string, reply: { gate: string; approvals: number; required: number; closed: boolean }): string {
  const verb = decision.decision === 'approve' ? 'Approved' : 'Rejected';
  const progress = decision.decision === 'approve' && !reply.closed ? ` (${reply.approvals}/${reply.required} approvals)` : '';
  return `${verb} by ${identity}: ${reply.gate} of ${decision.releaseId}${progress}`;
}
