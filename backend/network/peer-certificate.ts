/**
 * The data plane's TLS certificate, bound to the peer's libp2p identity.
 *
 * Design: the certificate's key IS the peer's Ed25519 identity key, self-signed. A libp2p Ed25519
 * peer id inlines its public key, so a client that chose peer id P checks, after the TLS 1.3
 * handshake, that the server certificate's public key equals the key inside P. TLS 1.3's
 * CertificateVerify proves the server holds the matching private key, so nobody without P's key
 * can answer as P — no CA, no extension parsing. Reusing the identity key for TLS is safe because
 * every signature is domain-separated: TLS 1.3 signs a transcript behind a fixed 64-byte 0x20
 * prefix and context string, libp2p noise signs "noise-libp2p-static-key:" payloads.
 *
 * Node has no certificate generator, so this builds the small DER structure (RFC 5280 §4.1,
 * Ed25519 per RFC 8410) by hand.
 */
import { sign, X509Certificate, type KeyObject } from 'node:crypto';
import { StoreError } from '../core/errors.js';
import { publicKeyOfPeerId } from './identity.js';

function der(tag: number, body: Buffer): Buffer {
  const len = body.length;
  let head: Buffer;
  if (len < 0x80) head = Buffer.from([tag, len]);
  else if (len < 0x100) head = Buffer.from([tag, 0x81, len]);
  else if (len < 0x10000) head = Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  else throw new RangeError('DER element too large');
  return Buffer.concat([head, body]);
}
const seq = (...parts: Buffer[]): Buffer => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => der(0x31, Buffer.concat(parts));

// OIDs, pre-encoded: id-Ed25519 1.3.101.112, commonName 2.5.4.3
const OID_ED25519 = Buffer.from([0x06, 0x03, 0x2b, 0x65, 0x70]);
const OID_CN = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]);

function name(cn: string): Buffer {
  return seq(set(seq(OID_CN, der(0x0c, Buffer.from(cn, 'utf8')))));
}

/** Self-signed X.509 v3 certificate (PEM) for `key`, subject CN = the peer id. */
export function createPeerCertificate(peerId: string, key: KeyObject, publicKey: KeyObject): string {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const serial = der(0x02, Buffer.from([0x01]));
  const validity = seq(der(0x17, Buffer.from('200101000000Z')), der(0x18, Buffer.from('99991231235959Z')));
  const tbs = seq(der(0xa0, der(0x02, Buffer.from([0x02]))), serial, seq(OID_ED25519), name('peerstor'), validity, name(peerId), spki);
  const signature = sign(null, tbs, key);
  const cert = seq(tbs, seq(OID_ED25519), der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = cert.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

/**
 * Throws Unavailable unless `cert` carries exactly the Ed25519 key of `expectedPeerId`.
 * The caller must only call this after a completed TLS handshake (which proved key possession).
 */
export function verifyPeerCertificate(cert: X509Certificate | undefined, expectedPeerId: string): void {
  if (!cert) throw new StoreError('Unavailable', `peer ${expectedPeerId} presented no TLS certificate`);
  const jwk = cert.publicKey.export({ format: 'jwk' });
  const expected = Buffer.from(publicKeyOfPeerId(expectedPeerId));
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x || !Buffer.from(jwk.x, 'base64url').equals(expected)) {
    throw new StoreError('Unavailable', `TLS certificate does not belong to peer ${expectedPeerId} (wrong peer at this address?)`);
  }
}
