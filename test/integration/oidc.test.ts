// OIDC ID token verification against a real Dex (static users with groups, password grant): real
// tokens signed by Dex's keys, and forged or broken ones made from them. Nothing is mocked; the
// verifier's fetch is wrapped only to count discovery and JWKS requests.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createOidcVerifier, TokenVerificationError, type OidcVerifierOptions, type TokenRefusal } from '../../client/auth/oidc.js';
import { DEX_USERS, startDex, type Dex } from '../helpers/dex.js';

let dex: Dex;
/** A second, independent Dex (another issuer) whose tokens live 2 seconds. */
let shortDex: Dex;

before(async () => {
  [dex, shortDex] = await Promise.all([startDex(), startDex({ idTokenExpiry: '2s' })]);
});
after(async () => {
  await Promise.all([dex?.stop(), shortDex?.stop()]);
});

function countingFetch() {
  const requests: string[] = [];
  const f: typeof fetch = (input, init) => {
    requests.push(String(input instanceof Request ? input.url : input));
    return fetch(input, init);
  };
  return { requests, fetch: f, jwks: () => requests.filter((u) => u.endsWith('/keys')).length };
}

function verifierFor(d: Dex, extra: Partial<OidcVerifierOptions> = {}) {
  return createOidcVerifier({ issuer: d.issuer, audience: d.clientId, clockToleranceSec: 1, ...extra });
}

async function refusedWith(p: Promise<unknown>, reason: TokenRefusal, token?: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TokenVerificationError, `expected TokenVerificationError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    if (token) assert.ok(!err.message.includes(token) && !err.message.includes(token.split('.')[2] || '\u0000'), 'the error echoes the token');
    return true;
  });
}

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('OIDC ID token verification (real Dex)', () => {
  test('a valid token verifies to the user, with groups from Dex', async () => {
    const counter = countingFetch();
    const verifier = verifierFor(dex, { fetch: counter.fetch });
    const alice = await verifier.verify(await dex.token('alice'));
    assert.equal(alice.identity, 'alice@example.com');
    assert.equal(alice.name, DEX_USERS.alice.name);
    assert.deepEqual(alice.groups, ['sre', 'developers']);
    assert.equal(alice.issuer, dex.issuer);
    assert.ok(alice.subject.length > 0);
    assert.ok(alice.expiresAt.getTime() > Date.now() + 5 * 60_000, `expires ${alice.expiresAt.toISOString()}`);

    const bob = await verifier.verify(await dex.token('bob'));
    assert.equal(bob.identity, 'bob@example.com');
    assert.deepEqual(bob.groups, ['developers']);
    assert.notEqual(bob.subject, alice.subject);
    const carol = await verifier.verify(await dex.token('carol'));
    assert.deepEqual(carol.groups, []);

    // preferred_username as the identity claim
    const byName = verifierFor(dex, { identityClaim: 'preferred_username' });
    assert.equal((await byName.verify(await dex.token('alice'))).identity, 'alice');

    // discovery and JWKS fetched once for the three tokens: cached
    assert.equal(counter.requests.filter((u) => u.endsWith('/.well-known/openid-configuration')).length, 1, counter.requests.join(' '));
    assert.equal(counter.jwks(), 1, counter.requests.join(' '));
  });

  test('Dex refuses a wrong password (the helper does not hand out tokens blindly)', async () => {
    await assert.rejects(dex.token('alice', 'not-her-password'), /HTTP 401/);
  });

  test('a token issued to another client is refused: wrong-audience', async () => {
    const token = await dex.token('alice', undefined, { client: 'other' });
    assert.equal(decodeJwt(token).aud, dex.otherClientId);
    await refusedWith(verifierFor(dex).verify(token), 'wrong-audience', token);
    // and accepted by a verifier for that client, so the token itself is sound
    assert.equal((await verifierFor(dex, { audience: dex.otherClientId }).verify(token)).identity, 'alice@example.com');
  });

  test("another issuer's valid token is refused: wrong-issuer", async () => {
    const token = await shortDex.token('alice');
    await refusedWith(verifierFor(dex).verify(token), 'wrong-issuer', token);
  });

  test('an expired token is refused: expired', async () => {
    const verifier = verifierFor(shortDex); // tolerance 1 s, tokens live 2 s
    const token = await shortDex.token('bob');
    assert.equal((await verifier.verify(token)).identity, 'bob@example.com');
    const { exp } = decodeJwt(token);
    await new Promise((r) => setTimeout(r, Math.max(0, exp! * 1000 + 1500 - Date.now())));
    await refusedWith(verifier.verify(token), 'expired', token);
  });

  test('tampered tokens are refused: bad-signature', async () => {
    const verifier = verifierFor(dex);
    const token = await dex.token('bob');
    const [h, p, s] = token.split('.');
    // bob grants himself sre: the claims change, the signature does not
    const claims = decodeJwt(token);
    const promoted = `${h}.${b64url({ ...claims, groups: ['sre', 'developers'] })}.${s}`;
    await refusedWith(verifier.verify(promoted), 'bad-signature', promoted);
    // one flipped bit in the signature
    const sig = Buffer.from(s, 'base64url');
    sig[10] ^= 0x01;
    const flipped = `${h}.${p}.${sig.toString('base64url')}`;
    await refusedWith(verifier.verify(flipped), 'bad-signature', flipped);
  });

  test('alg none and an HS256 token signed with the client secret are refused: algorithm-not-allowed', async () => {
    const verifier = verifierFor(dex);
    const token = await dex.token('bob');
    const header = decodeProtectedHeader(token);
    const claims = { ...decodeJwt(token), email: 'alice@example.com', groups: ['sre'] };
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    await refusedWith(verifier.verify(none), 'algorithm-not-allowed');
    const noneWithKid = `${b64url({ alg: 'none', kid: header.kid })}.${b64url(claims)}.`;
    await refusedWith(verifier.verify(noneWithKid), 'algorithm-not-allowed');
    // The classic confusion: HMAC keyed with something the attacker knows (the client secret).
    const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT', kid: header.kid })}.${b64url(claims)}`;
    const hs256 = `${signingInput}.${createHmac('sha256', dex.clientSecret).update(signingInput).digest('base64url')}`;
    await refusedWith(verifier.verify(hs256), 'algorithm-not-allowed', hs256);
    // an RS256 header on an HMAC signature is just a bad signature
    const lyingInput = `${b64url({ alg: 'RS256', kid: header.kid })}.${b64url(claims)}`;
    const lying = `${lyingInput}.${createHmac('sha256', dex.clientSecret).update(lyingInput).digest('base64url')}`;
    await refusedWith(verifier.verify(lying), 'bad-signature', lying);
    assert.throws(() => createOidcVerifier({ issuer: dex.issuer, audience: dex.clientId, algorithms: ['RS256', 'HS256'] }), /HS256 not allowed/);
  });

  test('garbage is refused: malformed', async () => {
    const verifier = verifierFor(dex);
    for (const junk of ['', 'garbage', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln', `${b64url({ alg: 'RS256' })}.${b64url('[1,2]')}.x`, 'x'.repeat(20_000), '....']) {
      await refusedWith(verifier.verify(junk), 'malformed');
    }
    await refusedWith(verifier.verify(undefined as unknown as string), 'malformed');
  });

  test('key rotation: a token signed by a key the verifier has not seen is accepted after a JWKS refetch', async () => {
    // How: Dex keeps its signing keys in the memory store; restarting it (same port and issuer)
    // makes a new key pair, as a rotation does. The verifier has the old JWKS cached; the new
    // token's kid is unknown, so it refetches the JWKS (cooldown 200 ms here, 30 s by default).
    const counter = countingFetch();
    const verifier = verifierFor(dex, { fetch: counter.fetch, jwksCooldownMs: 200 });
    const before = await dex.token('alice');
    assert.equal((await verifier.verify(before)).identity, 'alice@example.com');
    assert.equal(counter.jwks(), 1);

    await dex.restart();
    const afterRotation = await dex.token('alice');
    // Past the cooldown since the first fetch: within it the verifier (rightly) does not refetch.
    await new Promise((r) => setTimeout(r, 250));
    assert.notEqual(decodeProtectedHeader(afterRotation).kid, decodeProtectedHeader(before).kid, 'Dex did not make a new key');
    const alice = await verifier.verify(afterRotation);
    assert.equal(alice.identity, 'alice@example.com');
    assert.deepEqual(alice.groups, ['sre', 'developers']);
    assert.equal(counter.jwks(), 2, 'the unknown kid made the verifier refetch the JWKS once');

    // The old key is gone from Dex's JWKS: a token signed with it no longer verifies.
    await new Promise((r) => setTimeout(r, 250)); // past the cooldown, so the verifier looks again
    await refusedWith(verifier.verify(before), 'unknown-key', before);
    // A fresh verifier (no cache) gets the new key directly.
    assert.equal((await verifierFor(dex).verify(afterRotation)).identity, 'alice@example.com');
  });

  test('an unreachable issuer is reported as such, not as a bad token', async () => {
    const verifier = createOidcVerifier({ issuer: 'http://127.0.0.1:9/dex', audience: 'shipyard', timeoutMs: 2000 });
    const token = await dex.token('alice');
    // the token's iss is the real Dex: wrong issuer for this verifier, decided without any request
    await refusedWith(verifier.verify(token), 'wrong-issuer', token);
    const forged = `${b64url({ alg: 'RS256', kid: 'k' })}.${b64url({ ...decodeJwt(token), iss: 'http://127.0.0.1:9/dex' })}.c2ln`;
    await refusedWith(verifier.verify(forged), 'issuer-unavailable');
  });
});
