/**
 * Generates ready-to-use rclone.conf sections for a PeerStor gateway (rclone docs: "s3"
 * provider Other, "webdav", "sftp", "ftp"). Secrets that rclone stores obscured (webdav, sftp and
 * ftp passwords) are obscured here with rclone's own reversible scheme, so the output can be
 * pasted into rclone.conf as is.
 */
import { createCipheriv, randomBytes } from 'node:crypto';

export interface RcloneConfigInit {
  /** remote name; default "peerstor" (webdav/sftp/ftp remotes get -webdav, -sftp, -ftp) */
  name?: string;
  /** S3 endpoint URL, e.g. http://127.0.0.1:8080 */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** signing region the gateway accepts; default us-east-1 */
  region?: string;
  /** WebDAV URL, e.g. http://127.0.0.1:8080/d/ */
  webdavUrl?: string;
  sftp?: { host: string; port: number };
  ftp?: { host: string; port: number; tls: boolean };
}

// rclone's fixed key for `rclone obscure` (fs/config/obscure): AES-256-CTR, random IV prepended,
// base64url without padding. Obscuring is not encryption; it only keeps passwords from being read
// at a glance, exactly as rclone itself does.
const OBSCURE_KEY = Buffer.from([
  0x9c, 0x93, 0x5b, 0x48, 0x73, 0x0a, 0x55, 0x4d, 0x6b, 0xfd, 0x7c, 0x63, 0xc8, 0x86, 0xa9, 0x2b, 0xd3, 0x90, 0x19, 0x8e, 0xb8, 0x12, 0x8a,
  0xfb, 0xf4, 0xde, 0x16, 0x2b, 0x8b, 0x95, 0xf6, 0x38,
]);

export function rcloneObscure(plain: string): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', OBSCURE_KEY, iv);
  const enc = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, enc]).toString('base64url');
}

function section(name: string, entries: [string, string | undefined][]): string {
  const lines = entries.filter(([, v]) => v !== undefined).map(([k, v]) => `${k} = ${v}`);
  return `[${name}]\n${lines.join('\n')}\n`;
}

export function rcloneConfig(init: RcloneConfigInit): string {
  const name = init.name ?? 'peerstor';
  const out: string[] = [
    section(name, [
      ['type', 's3'],
      ['provider', 'Other'],
      ['env_auth', 'false'],
      ['access_key_id', init.accessKey],
      ['secret_access_key', init.secretKey],
      ['region', init.region ?? 'us-east-1'],
      ['endpoint', init.endpoint],
      ['force_path_style', 'true'],
      ['acl', 'private'],
    ]),
  ];
  if (init.webdavUrl !== undefined) {
    out.push(
      section(`${name}-webdav`, [
        ['type', 'webdav'],
        ['url', init.webdavUrl],
        ['vendor', 'other'],
        ['user', init.accessKey],
        ['pass', rcloneObscure(init.secretKey)],
      ]),
    );
  }
  if (init.sftp !== undefined) {
    out.push(
      section(`${name}-sftp`, [
        ['type', 'sftp'],
        ['host', init.sftp.host],
        ['port', String(init.sftp.port)],
        ['user', init.accessKey],
        ['pass', rcloneObscure(init.secretKey)],
        // The gateway presents buckets as top-level folders and has no shell to run md5sum in.
        ['disable_hashcheck', 'true'],
        ['shell_type', 'none'],
      ]),
    );
  }
  if (init.ftp !== undefined) {
    out.push(
      section(`${name}-ftp`, [
        ['type', 'ftp'],
        ['host', init.ftp.host],
        ['port', String(init.ftp.port)],
        ['user', init.accessKey],
        ['pass', rcloneObscure(init.secretKey)],
        ['explicit_tls', init.ftp.tls ? 'true' : undefined],
      ]),
    );
  }
  return out.join('\n');
}
