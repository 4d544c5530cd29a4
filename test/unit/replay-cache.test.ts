// The chat replay cache: once per key within the window, forgotten after it, bounded in size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayCache } from '../../client/gateway/replay-cache.js';

test('a key is accepted once within the window and again after it; the cache stays bounded', () => {
  const cache = new ReplayCache(300_000, 3);
  const t0 = 1_700_000_000_000;
  assert.equal(cache.firstSeen(t0, 'slack', 'v0=abc', Buffer.from('body')), true);
  assert.equal(cache.firstSeen(t0 + 1000, 'slack', 'v0=abc', Buffer.from('body')), false, 'replayed inside the window');
  assert.equal(cache.firstSeen(t0 + 1000, 'slack', 'v0=abc', Buffer.from('other body')), true, 'another body is another request');
  assert.equal(cache.firstSeen(t0 + 1000, 'dingtalk', 'v0=abc', Buffer.from('body')), true, 'keys are per route');
  // Parts are delimited: ('ab', 'c') is not ('a', 'bc').
  assert.equal(cache.firstSeen(t0, 'x', 'ab', 'c'), true);
  assert.equal(cache.firstSeen(t0, 'x', 'a', 'bc'), true);
  assert.ok(cache.size <= 3, `bounded: ${cache.size}`);
  // After twice the window every entry has expired: the timestamp check refuses such a request anyway.
  assert.equal(cache.firstSeen(t0 + 601_000, 'slack', 'v0=abc', Buffer.from('body')), true);
  assert.equal(cache.size, 1);
});
