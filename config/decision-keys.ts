// The decision keys: the gateway signs decision statements with a private Ed25519 key; the
// orchestrator trusts the public keys in a JWKS file. Both sides read their files on use, so a
// rotation is a file change: publish the new public key next to the old one, then switch the
// gateway's signing key, then drop the old public key once no statement signed with it can be live.
//
//   SHIPYARD_DECISION_KEYS   orchestrator: path to a JWKS ({"keys":[{kty:OKP,crv:Ed25519,kid,x}]})
//   SHIPYARD_MODE=production orchestrator: decisions without a valid statement are refused
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DecisionTrust, TrustedKey } from '../workflows/decision-statement.js';

/** A decision key id: what JWKS entries, statement headers and the gateway's signingKeys name. */
export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export class DecisionKeyError extends Error {
  override name = 'DecisionKeyError';
}

/** Parses a JWKS document of Ed25519 public keys; refuses anything else (a private `d` included). */
export function parseTrustedKeys(text: string, source = 'JWKS'): TrustedKey[] {
  let doc: { keys?: unknown };
  try {
    doc = JSON.parse(text) as { keys?: unknown };
  } catch {
    throw new DecisionKeyError(`${source}: not JSON`);
  }
  if (!doc || !Array.isArray(doc.keys) || doc.keys.length === 0) throw new DecisionKeyError(`${source}: expected {"keys": [...]} with at least one key`);
  const kids = new Set<string>();
  return doc.keys.map((k: Record<string, unknown>, i) => {
    const where = `${source}: keys[${i}]`;
    if (k?.kty !== 'OKP' || k.crv !== 'Ed25519') throw new DecisionKeyError(`${where}: only OKP/Ed25519 keys are trusted`);
    if ('d' in k) throw new DecisionKeyError(`${where}: holds a private key (d); give the orchestrator public keys only`);
    if (typeof k.kid !== 'string' || !KEY_ID.test(k.kid)) throw new DecisionKeyError(`${where}: kid must be 1-64 letters, digits, . _ -`);
    if (typeof k.x !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(k.x)) throw new DecisionKeyError(`${where}: x must be a 32-byte key, base64url`);
    if (kids.has(k.kid)) throw new DecisionKeyError(`${where}: kid ${k.kid} appears twice`);
    kids.add(k.kid);
    return { kid: k.kid, x: k.x };
  });
}

/** What this orchestrator trusts, from its environment; read on every call (rotation needs no restart). */
export function decisionTrustFromEnv(env: NodeJS.ProcessEnv = process.env): DecisionTrust {
  const production = env.SHIPYARD_MODE === 'production';
  const file = env.SHIPYARD_DECISION_KEYS?.trim();
  if (!file) {
    if (production) throw new DecisionKeyError('production mode needs SHIPYARD_DECISION_KEYS (the gateway\'s public decision keys, a JWKS file)');
    return { requireSigned: false, keys: [] };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DecisionKeyError(`SHIPYARD_DECISION_KEYS: cannot read ${file}: ${(err as Error).message}`);
  }
  return { requireSigned: production, keys: parseTrustedKeys(text, file) };
}

/** The public half of a signing key, as a JWKS entry. */
export function publicJwk(key: KeyObject, kid: string): { kty: 'OKP'; crv: 'Ed25519'; kid: string; x: string; use: 'sig'; alg: 'EdDSA' } {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as { kty: string; crv: string; x: string };
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') throw new DecisionKeyError('the decision signing key must be Ed25519');
  return { kty: 'OKP', crv: 'Ed25519', kid, x: jwk.x, use: 'sig', alg: 'EdDSA' };
}

/** An Ed25519 private key from PEM (PKCS#8), refusing other key types. */
export function parseSigningKey(pem: string, source = 'signing key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new DecisionKeyError(`${source}: not a PEM private key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new DecisionKeyError(`${source}: an Ed25519 key is required (got ${key.asymmetricKeyType})`);
  return key;
}

/** A new signing key: the PEM for the gateway and the JWKS entry for the orchestrators. */
export function generateDecisionKey(kid: string): { privatePem: string; jwks: { keys: ReturnType<typeof publicJwk>[] } } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), jwks: { keys: [publicJwk(privateKey, kid)] } };
}
