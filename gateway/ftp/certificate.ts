/**
 * TLS certificate for FTPS: `--tls-cert`/`--tls-key` when given, else a self-signed one generated
 * once (selfsigned, RSA 2048, 10 years, SAN localhost/127.0.0.1/::1) and persisted in certDir so
 * clients that pin it keep working across restarts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  cert: string;
  key: string;
}

export async function loadOrCreateCertificate(init: { tlsCert?: string; tlsKey?: string; certDir: string }): Promise<TlsMaterial> {
  if (init.tlsCert || init.tlsKey) {
    if (!init.tlsCert || !init.tlsKey) throw new RangeError('--tls-cert and --tls-key must be given together');
    return { cert: await readFile(init.tlsCert, 'utf8'), key: await readFile(init.tlsKey, 'utf8') };
  }
  const certFile = join(init.certDir, 'ftps-cert.pem');
  const keyFile = join(init.certDir, 'ftps-key.pem');
  try {
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 10);
  const pems = await generate([{ name: 'commonName', value: 'PeerStor FTPS' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  await mkdir(init.certDir, { recursive: true, mode: 0o700 });
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  await writeFile(certFile, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private };
}
