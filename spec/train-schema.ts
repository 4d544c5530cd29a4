// The train spec: several services released in dependency order as one durable release (trainWorkflow).
// Shape only here; spec/train-load.ts reads the services' release specs and reports every issue.
import { z } from 'zod';
import { approvalFields } from './approval-schema.js';
import { dnsLabel } from './fields.js';
import type { ReleaseSpec } from './schema.js';

export const TrainServiceSchema = z.strictObject({
  name: dnsLabel.describe("The service (its release spec's `service`)"),
  spec: z
    .union([z.string().min(1), z.record(z.string(), z.unknown())])
    .describe('The release spec: a file path relative to the train file, or the spec inline'),
  dependsOn: z.array(dnsLabel).default([]).describe('Services released (not yet committed) before this one starts'),
  environments: z.array(z.string().min(1)).optional().describe("A subset of the spec's environments (default: all)"),
});

export const TrainGateSchema = z.strictObject({
  after: dnsLabel.describe('The services depending on this one wait until the gate is approved'),
  approval: z
    .strictObject({
      approvers: approvalFields.approvers,
      required: approvalFields.required,
      timeout: approvalFields.timeout,
      fourEyes: z.boolean().default(false).describe('The person who triggered the train may not approve this gate'),
    })
    .optional()
    .describe('Who approves, how many, and for how long (a timeout fails the train)'),
});

export const TrainSpecSchema = z
  .strictObject({
    name: dnsLabel.describe('The train; its ID is train/<name>/<hash of the commits>'),
    services: z.array(TrainServiceSchema).min(1, 'list at least one service'),
    maxParallel: z.number().int().min(1).max(20).default(2).describe('Releases running at the same time'),
    gates: z.array(TrainGateSchema).default([]),
    rollback: z
      .enum(['train', 'service'])
      .default('train')
      .describe('train: a failure rolls back every released service in reverse dependency order; service: only the failed one'),
  })
  .superRefine((train, ctx) => {
    const names = new Set<string>();
    train.services.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: `duplicate service '${s.name}'` });
      names.add(s.name);
    });
    train.services.forEach((s, i) =>
      s.dependsOn.forEach((d, j) => {
        if (!names.has(d)) ctx.addIssue({ code: 'custom', path: ['services', i, 'dependsOn', j], message: `unknown service '${d}'; the train has ${[...names].join(', ')}` });
        else if (d === s.name) ctx.addIssue({ code: 'custom', path: ['services', i, 'dependsOn', j], message: `'${d}' depends on itself` });
      }),
    );
    const cycle = findCycle(train.services);
    if (cycle) ctx.addIssue({ code: 'custom', path: ['services'], message: `dependency cycle: ${cycle.join(' -> ')}` });
    const gated = new Set<string>();
    train.gates.forEach((g, i) => {
      if (!names.has(g.after)) ctx.addIssue({ code: 'custom', path: ['gates', i, 'after'], message: `unknown service '${g.after}'` });
      if (gated.has(g.after)) ctx.addIssue({ code: 'custom', path: ['gates', i, 'after'], message: `a second gate after '${g.after}'` });
      gated.add(g.after);
      if (g.approval && g.approval.required > g.approval.approvers.length && !g.approval.approvers.some((a) => a.startsWith('group:'))) {
        ctx.addIssue({ code: 'custom', path: ['gates', i, 'approval', 'required'], message: 'needs more approvals than it lists approvers' });
      }
    });
  });

export type TrainSpecInput = z.input<typeof TrainSpecSchema>;
type ParsedTrain = z.output<typeof TrainSpecSchema>;

/** A validated train: each service with its parsed release spec (defaults applied). */
export interface TrainSpec extends Omit<ParsedTrain, 'services'> {
  services: TrainService[];
}
export interface TrainService {
  name: string;
  spec: ReleaseSpec;
  dependsOn: string[];
  environments?: string[];
  /** The spec file it was read from (relative to the train file), when not inline. */
  specFile?: string;
}

/** A cycle among dependsOn edges (unknown names ignored), as the names along it, first repeated at the end. */
export function findCycle(services: { name: string; dependsOn: string[] }[]): string[] | undefined {
  const deps = new Map(services.map((s) => [s.name, s.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done' || !deps.has(n)) return undefined;
    if (state.get(n) === 'visiting') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'visiting');
    path.push(n);
    for (const d of deps.get(n) ?? []) {
      if (d === n) continue; // reported as "depends on itself"
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const s of services) {
    const c = visit(s.name);
    if (c) return c;
  }
  return undefined;
}

/** Services in an order where each comes after its dependencies (spec order among equals). */
export function dependencyOrder(services: { name: string; dependsOn: string[] }[]): string[] {
  const out: string[] = [];
  const left = [...services];
  while (left.length) {
    const i = left.findIndex((s) => s.dependsOn.every((d) => out.includes(d)));
    if (i < 0) throw new Error('dependency cycle');
    out.push(left.splice(i, 1)[0].name);
  }
  return out;
}
