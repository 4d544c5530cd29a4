// Approvals: who may approve, how many, for how long (environments and canary approval steps).
import { z } from 'zod';
import { ApproverSchema, duration } from './fields.js';

/** Who may approve, and how. Used by environments and by canary approval steps. */
export const approvalFields = {
  approvers: z
    .array(ApproverSchema)
    .min(1, 'list at least one approver; an approval anyone can give is no approval')
    .describe('Shipyard identities, or group:<name> (groups from the verified ID token), allowed to approve or reject'),
  required: z.number().int().min(1).default(1).describe('Distinct approvals needed'),
  timeout: duration.default('24h').describe('No decision within this time rejects the release'),
  fourEyes: z.boolean().default(false).describe('The person who triggered the release may not approve it'),
};
export const ApprovalSchema = z
  .strictObject(approvalFields)
  // A group may hold any number of people: only a list of names bounds the approvals it can give.
  .refine((a) => a.required <= a.approvers.length || a.approvers.some((x) => x.startsWith('group:')), {
    path: ['required'],
    message: 'needs more approvals than it lists approvers',
  });

/** A canary approval step; unset fields come from the environment's approval. */
export const ApprovalStepSchema = z.strictObject({
  approvers: approvalFields.approvers.optional(),
  required: z.number().int().min(1).optional(),
  timeout: duration.optional(),
  fourEyes: z.boolean().optional(),
});
