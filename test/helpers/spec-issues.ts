// Asserting on the issues a spec is refused with (spec/load.ts SpecError).
import assert from 'node:assert/strict';
import { parseSpec, SpecError, type SpecIssue } from '../../spec/load.js';

/** The issues `text` is refused with; fails the test when it is accepted. */
export function issuesOf(text: string): SpecIssue[] {
  try {
    parseSpec(text, 't.yaml');
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${err}`);
    return err.issues;
  }
  assert.fail('spec was accepted');
}

/** The issue at `path` whose message matches; fails the test, listing what there was, when none does. */
export function expectIssue(text: string, path: string, message: RegExp): SpecIssue {
  const issues = issuesOf(text);
  const hit = issues.find((i) => i.path === path && message.test(i.message));
  assert.ok(hit, `no issue at ${path} matching ${message}; got:\n${issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`);
  return hit;
}

/** Every issue as `path: message`; empty when the spec is accepted. */
export function issueLines(text: string): string[] {
  try {
    parseSpec(text, 't.yaml');
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${err}`);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}
