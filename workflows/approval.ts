// Who may decide a pending approval gate. Pure: the update validators call it, and so do unit tests.
import type { ApprovalRequest, PendingApproval } from './types.js';
import { IDENTITY } from '../spec/identity.js';

/** Throws an Error (which rejects the update before it reaches history) when the decision is not allowed. */
export function validateDecision(
  pending: PendingApproval | null,
  request: ApprovalRequest | undefined,
  triggeredBy: string,
  kind: 'approve' | 'reject',
): void {
  if (!request || typeof request.approver !== 'string' || !IDENTITY.test(request.approver)) {
    throw new Error('approver must be a Shipyard identity (letters, digits, . _ @ + -)');
  }
  if (request.comment !== undefined && (typeof request.comment !== 'string' || request.comment.length > 2000)) {
    throw new Error('comment must be text of at most 2000 characters');
  }
  if (!pending) throw new Error('no approval is pending for this release');
  if (request.gate !== undefined && request.gate !== pending.gate) {
    throw new Error(`gate '${request.gate}' is not pending (pending: '${pending.gate}')`);
  }
  if (!pending.approvers.includes(request.approver)) {
    throw new Error(`'${request.approver}' is not an approver for ${pending.gate} (approvers: ${pending.approvers.join(', ')})`);
  }
  if (kind === 'approve') {
    if (pending.fourEyes && request.approver === triggeredBy) {
      throw new Error(`four-eyes: '${request.approver}' triggered this release and may not approve it`);
    }
    if (pending.approvedBy.includes(request.approver)) {
      throw new Error(`'${request.approver}' already approved ${pending.gate}; it needs another approver`);
    }
  }
}
