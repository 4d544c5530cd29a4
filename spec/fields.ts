// Field types of the release spec shared by its sections: durations, names, identities, values paths.
import { z } from 'zod';
import { isDuration } from './duration.js';
import { APPROVER, APPROVER_RULE, IDENTITY, IDENTITY_RULE } from './identity.js';

export const duration = z
  .string()
  .refine(isDuration, { message: 'must be a duration with a unit, e.g. 500ms, 30s, 5m, 1h30m, 2d' })
  .describe('A duration: a number with a unit (ms, s, m, h, d), parts may be combined: 1h30m');

export const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and dashes (a DNS label)');

/** Helm's own limit: the release name ends up in resource names and labels (63) with room for suffixes. */
export const helmRelease = z
  .string()
  .min(1)
  .max(53, 'a helm release name has at most 53 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a helm release name: lowercase letters, digits and dashes, starting and ending with a letter or digit');

/** The identities approval updates accept (workflows/approval.ts applies the same IDENTITY). */
export const IdentitySchema = z.string().regex(IDENTITY, `must be a Shipyard identity: ${IDENTITY_RULE}`);
/** Who may approve: an identity, or group:<name> (matched against the verified token's groups only). */
export const ApproverSchema = z.string().regex(APPROVER, `must be an approver: ${APPROVER_RULE}`);

/**
 * A dotted path into a values document (image.tag). Segments that would reach the object prototype
 * when the path is written (__proto__, constructor, prototype) and empty ones (a..b) are refused.
 */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
export const valuesPath = z
  .string()
  .regex(/^[^.]+(\.[^.]+)*$/, 'must be a dotted path with no empty segment, e.g. image.tag')
  .superRefine((path, ctx) => {
    const bad = path.split('.').find((s) => FORBIDDEN_SEGMENTS.has(s));
    if (bad) ctx.addIssue({ code: 'custom', message: `'${path}' has the segment '${bad}', which is not allowed in a values path` });
  });

/** GOOS/GOARCH with an optional variant (GOARM/GOAMD64), e.g. linux/arm/v7. */
export const platform = z
  .string()
  .regex(/^[a-z0-9]+\/[a-z0-9]+(\/v?[0-9a-z]+)?$/, 'must be os/arch or os/arch/variant, e.g. linux/amd64, linux/arm/v7');

export const weight = z.number().int('must be a whole number').min(0, 'must be 0..100').max(100, 'must be 0..100');

/** The NAME of an environment variable of the worker that holds a secret (never the secret itself). */
export const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable, not the secret itself');
