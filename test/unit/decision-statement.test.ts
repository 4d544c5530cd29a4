// Decision statements: signed by the gateway's signer (jose, node:crypto), verified by the pure
// workflow verifier (@noble/curves). Every refusal the release relies on, and the approval rules
// that use verified identities and groups.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { createStatementSigner, type StatementRequest } from '../../client/auth/statement-signer.js';
import { DecisionKeyError, generateDecisionKey, parseTrustedKeys, publicJwk } from '../../config/decision-keys.js';
import { base64url, verifyStatement, type DecisionTrust } from '../../workflows/decision-statement.js';
import { authenticate, validateDecision, type TrustContext } from '../../workflows/approval.js';
import type { PendingApproval } from '../../workflows/types.js';

const { privateKey } = generateKeyPairSync('ed25519');
const { privateKey: otherKey } = generateKeyPairSync('ed25519');
const signer = createStatementSigner({ key: privateKey, kid: 'k1' });
const trust: DecisionTrust = { requireSigned: true, keys: [{ kid: 'k1', x: publicJwk(privateKey, 'k1').x }] };
const REL = 'release/payments/production/0123456789abcdef0123456789abcdef01234567';
const base: StatementRequest = { rel: REL, act: 'approve', gate: 'production/approval', sub: 'bob@example.com', groups: ['developers'], via: 'api', idp: 'http://dex' };
const expect = (now = Date.now()) => ({ releaseId: REL, actions: ['approve' as const], now });

describe('decision statements', () => {
  test('a statement from the signer verifies in the workflow verifier, claims intact', async () => {
    const token = await signer.sign({ ...base, comment: 'ship it ✓' });
    const claims = verifyStatement(token, trust, expect());
    assert.equal(claims.sub, 'bob@example.com');
    assert.deepEqual(claims.groups, ['developers']);
    assert.equal(claims.comment, 'ship it ✓');
    assert.equal(claims.exp - claims.iat, 120);
    assert.match(claims.jti, /^[0-9a-f-]{36}$/);
  });

  test('refusals: wrong key, tampered claims, alg none, HS256, expired, future, wrong release, wrong action, too long-lived', async () => {
    const token = await signer.sign(base);
    const [h, p, sig] = token.split('.');
    const refuse = (t: unknown, reason: RegExp, now?: number) => assert.throws(() => verifyStatement(t, trust, expect(now)), reason);
    refuse(await createStatementSigner({ key: otherKey, kid: 'k1' }).sign(base), /bad-signature/);
    refuse(await createStatementSigner({ key: otherKey, kid: 'k9' }).sign(base), /unknown-key/);
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'alice@example.com' })).toString('base64url');
    refuse(`${h}.${forged}.${sig}`, /bad-signature/);
    const none = Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url');
    refuse(`${none}.${p}.`, /algorithm/);
    refuse(await new SignJWT({ ...base }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(randomBytes(32)), /algorithm/);
    refuse(token, /expired/, Date.now() + 121_000);
    refuse(await createStatementSigner({ key: privateKey, kid: 'k1', now: () => Date.now() + 3_600_000 }).sign(base), /not-yet-valid/);
    refuse(await signer.sign({ ...base, rel: `${REL}x` }), /wrong-release/);
    refuse(await signer.sign({ ...base, act: 'reject' }), /wrong-action/);
    const long = await new SignJWT({ ...base, iss: 'shipyard-gateway', aud: 'shipyard-release', jti: 'x', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 86_400 })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .sign(privateKey);
    refuse(long, /lives longer/);
    for (const junk of [undefined, 42, '', 'a.b', 'a.b.c', '....', 'x'.repeat(9000), `${h}.${p}.${sig}=`]) refuse(junk, /malformed|bad-signature/);
  });

  test('base64url decoding matches Buffer for every length', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = randomBytes(n);
      assert.deepEqual(Buffer.from(base64url(bytes.toString('base64url'))), bytes);
    }
    assert.throws(() => base64url('ab+c'), /character/);
  });

  test('trusted key files: public Ed25519 JWKs only', () => {
    const { jwks, privatePem } = generateDecisionKey('k2');
    assert.match(privatePem, /BEGIN PRIVATE KEY/);
    assert.deepEqual(parseTrustedKeys(JSON.stringify(jwks)), [{ kid: 'k2', x: jwks.keys[0].x }]);
    const priv = privateKey.export({ format: 'jwk' });
    assert.throws(() => parseTrustedKeys(JSON.stringify({ keys: [{ ...priv, kid: 'k1' }] })), /private key/);
    assert.throws(() => parseTrustedKeys(JSON.stringify({ keys: [{ kty: 'RSA', kid: 'r', n: 'x', e: 'AQAB' }] })), DecisionKeyError);
    assert.throws(() => parseTrustedKeys('{"keys":[]}'), /at least one key/);
    assert.throws(() => parseTrustedKeys(JSON.stringify({ keys: [jwks.keys[0], jwks.keys[0]] })), /twice/);
  });
});

describe('decisions with verified identities', () => {
  const pending: PendingApproval = {
    gate: 'production/approval',
    environment: 'production',
    approvers: ['group:sre', 'bob@example.com'],
    required: 1,
    fourEyes: true,
    openedAt: '',
    timeoutAt: '',
    approvedBy: [],
  };
  const ctx = (used = new Map<string, number>()): TrustContext => ({ trust, releaseId: REL, now: Date.now(), used });
  const trigger = { by: 'alice@example.com', verified: true };

  test('groups from a statement make an approver; a claimed name never carries groups', async () => {
    const asCarolInSre = await signer.sign({ ...base, sub: 'carol@example.com', groups: ['sre'] });
    assert.equal(validateDecision(pending, { approver: 'x', statement: asCarolInSre }, trigger, 'approve', ctx()).identity, 'carol@example.com');
    const asDave = await signer.sign({ ...base, sub: 'dave@example.com', groups: ['developers'] });
    assert.throws(() => validateDecision(pending, { approver: 'x', statement: asDave }, trigger, 'approve', ctx()), /dave@example.com' \(groups: developers\) is not an approver/);
  });

  test('four-eyes compares the verified identity, not the claimed approver field', async () => {
    const asAlice = await signer.sign({ ...base, sub: 'alice@example.com', groups: ['sre'] });
    assert.throws(() => validateDecision(pending, { approver: 'bob@example.com', statement: asAlice }, trigger, 'approve', ctx()), /four-eyes: 'alice@example.com'/);
  });

  test('production mode refuses unsigned decisions; a used statement is refused as replayed; wrong gate refused', async () => {
    assert.throws(() => validateDecision(pending, { approver: 'bob@example.com' }, trigger, 'approve', ctx()), /unsigned decision refused/);
    const token = await signer.sign(base);
    const d = validateDecision(pending, { approver: 'bob@example.com', statement: token }, trigger, 'approve', ctx());
    assert.throws(() => validateDecision(pending, { approver: 'bob@example.com', statement: token }, trigger, 'approve', ctx(new Map([[d.jti!, d.exp!]]))), /replayed/);
    const otherGate = await signer.sign({ ...base, gate: 'production/canary-2' });
    assert.throws(() => validateDecision(pending, { approver: 'bob@example.com', statement: otherGate }, trigger, 'approve', ctx()), /gate 'production\/canary-2' is not pending/);
  });

  test('development mode: an unsigned name is accepted and marked unauthenticated; a statement without trusted keys is refused', async () => {
    const dev: TrustContext = { trust: { requireSigned: false, keys: [] }, releaseId: REL, now: Date.now(), used: new Map() };
    const d = authenticate({ approver: 'bob@example.com' }, ['approve'], dev);
    assert.deepEqual([d.identity, d.authenticated, d.groups], ['bob@example.com', false, []]);
    await assert.rejects(async () => authenticate({ statement: await signer.sign(base) }, ['approve'], { ...dev, trust: undefined }), /trusts no decision keys/);
  });
});
