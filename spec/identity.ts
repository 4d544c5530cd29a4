// Who a Shipyard identity is: the one rule the spec (approvers) and the approval update validator
// (workflows/approval.ts) both apply, so an approver the spec accepts can always approve.
// Pure and dependency-free on purpose: the workflow bundle imports it (no zod in the sandbox).

/** Letters, digits and . _ @ + -, 1 to 128 characters: user names, e-mail addresses, bot ids. */
export const IDENTITY = /^[A-Za-z0-9._@+-]{1,128}$/;

export const IDENTITY_RULE = 'a Shipyard identity is 1-128 letters, digits and . _ @ + -';

export function isIdentity(value: unknown): value is string {
  return typeof value === 'string' && IDENTITY.test(value);
}

/** An approver entry: an identity, or `group:<name>` for everyone the identity provider puts in that group. */
export const APPROVER = /^(group:[A-Za-z0-9._@+:\/ -]{1,128}|[A-Za-z0-9._@+-]{1,128})$/;

export const APPROVER_RULE = `${IDENTITY_RULE}, or group:<name> (a group from the identity provider's token)`;
