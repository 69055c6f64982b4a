/**
 * A peer's persistent identity and the network key.
 *
 * - Identity: an Ed25519 libp2p key in `<volume>/.peerstor-peer/identity.key` (libp2p protobuf
 *   encoding, mode 0600). Created on first start; the same peer id comes back after a restart.
 * - Network key: 32 random bytes in the libp2p "swarm key" text format
 *   (`/key/swarm/psk/1.0.0/\n/base16/\n<64 hex>`), so the file also works with other libp2p
 *   tools. `--network-key FILE` creates FILE with a fresh key when it does not exist; with no flag,
 *   the key is kept in `<volume>/.peerstor-peer/network.key` and the caller prints its path so
 *   other peers and gateways can be given the same file.
 * The network key protects libp2p connections (pnet PSK) and derives the data-plane bearer token.
 */
import './polyfills.js';
import { createHmac, randomBytes, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile, chmod, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { StoreError } from '../core/errors.js';

export const PEER_DIR = '.peerstor-peer';
const SWARM_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n';

export interface PeerIdentity {
  privateKey: PrivateKey;
  /** base58 libp2p peer id (12D3KooW…) */
  peerId: string;
  /** the same Ed25519 key as node:crypto objects, for the data plane's TLS certificate */
  tlsKey: KeyObject;
  tlsPublicKey: KeyObject;
}

export interface NetworkKey {
  /** 32 secret bytes */
  key: Buffer;
  /** the file it was read from or created at */
  path: string;
  /** true when this start created the file */
  created: boolean;
}

async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
  await chmod(tmp, 0o600);
  // rename is atomic: a crash never leaves a half-written key that would change the peer id
  await rename(tmp, path);
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** Converts a libp2p Ed25519 private key into node:crypto key objects (same key, no new material). */
export function toNodeKeys(privateKey: PrivateKey): { tlsKey: KeyObject; tlsPublicKey: KeyObject } {
  if (privateKey.type !== 'Ed25519') throw new StoreError('InvalidArgument', `identity key must be Ed25519, not ${privateKey.type}`);
  // libp2p's raw Ed25519 private key is seed (32) ‖ public key (32)
  const raw = privateKey.raw;
  const d = Buffer.from(raw.subarray(0, 32)).toString('base64url');
  const x = Buffer.from(privateKey.publicKey.raw).toString('base64url');
  const tlsKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x }, format: 'jwk' });
  return { tlsKey, tlsPublicKey: createPublicKey(tlsKey) };
}

export async function identityFromKey(privateKey: PrivateKey): Promise<PeerIdentity> {
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), ...toNodeKeys(privateKey) };
}

/** Loads `<dir>/identity.key`, creating it on first use. `dir` is usually `<volume>/.peerstor-peer`. */
export async function loadOrCreateIdentity(dir: string): Promise<PeerIdentity & { created: boolean }> {
  const path = join(dir, 'identity.key');
  try {
    const bytes = await readFile(path);
    return { ...(await identityFromKey(privateKeyFromProtobuf(bytes))), created: false };
  } catch (err) {
    if (!isMissing(err)) throw new StoreError('Internal', `cannot read peer identity ${path}`, { cause: err });
  }
  const privateKey = await generateKeyPair('Ed25519');
  try {
    await writePrivateFile(path, privateKeyToProtobuf(privateKey));
  } catch (err) {
    // another process created it first: use theirs so both agree on the id
    if ((err as NodeJS.ErrnoException)?.code === 'EEXIST') return loadOrCreateIdentity(dir);
    throw err;
  }
  return { ...(await identityFromKey(privateKey)), created: true };
}

export function parseNetworkKey(text: string): Buffer {
  const body = text.startsWith('/key/swarm/psk/1.0.0/') ? text.split('\n').slice(2).join('').trim() : text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(body)) throw new StoreError('InvalidArgument', 'network key file must hold 32 bytes as 64 hex digits (libp2p swarm key format)');
  return Buffer.from(body, 'hex');
}

export function formatNetworkKey(key: Uint8Array): string {
  return `${SWARM_HEADER}${Buffer.from(key).toString('hex')}\n`;
}

/**
 * Reads the network key at `file`, or creates it with a fresh random key when missing.
 * With no `file`, uses `<peerDir>/network.key`.
 */
export async function loadOrCreateNetworkKey(file: string | undefined, peerDir: string): Promise<NetworkKey> {
  const path = file ?? join(peerDir, 'network.key');
  try {
    return { key: parseNetworkKey(await readFile(path, 'utf8')), path, created: false };
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  try {
    await writePrivateFile(path, formatNetworkKey(randomBytes(32)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code !== 'EEXIST') throw err;
  }
  return { key: parseNetworkKey(await readFile(path, 'utf8')), path, created: true };
}

/** The pnet PSK (95-byte swarm key text) libp2p's preSharedKey() expects. */
export function pskBytes(networkKey: Uint8Array): Uint8Array {
  return new TextEncoder().encode(formatNetworkKey(networkKey).trimEnd());
}

/**
 * The data-plane bearer token: HMAC of the network key with a fixed label, so the key itself
 * never crosses the wire and the token is useless for libp2p's PSK.
 */
export function dataPlaneToken(networkKey: Uint8Array): string {
  return createHmac('sha256', networkKey).update('peerstor data plane v1').digest('hex');
}

/** The raw 32-byte Ed25519 public key inside a peer id (Ed25519 ids inline their key). */
export function publicKeyOfPeerId(peerId: string): Uint8Array {
  const id = peerIdFromString(peerId);
  if (id.type !== 'Ed25519' || !id.publicKey) throw new StoreError('InvalidArgument', `peer id ${peerId} is not an Ed25519 id`);
  return id.publicKey.raw;
}
