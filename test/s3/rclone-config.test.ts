// rclone.conf generation: the S3 section always, the others when asked; passwords obscured the
// way rclone reveals them (checked with the real rclone when it is installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rcloneConfig, rcloneObscure } from '../../rclone-config/rclone-config.js';

function hasRclone(): boolean {
  try {
    execFileSync('rclone', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('S3 section only by default', () => {
  const text = rcloneConfig({ endpoint: 'http://127.0.0.1:8080', accessKey: 'AKID', secretKey: 'secret-key' });
  assert.match(text, /^\[peerstor\]\ntype = s3\nprovider = Other\n/);
  assert.match(text, /\naccess_key_id = AKID\n/);
  assert.match(text, /\nsecret_access_key = secret-key\n/);
  assert.match(text, /\nendpoint = http:\/\/127\.0\.0\.1:8080\n/);
  assert.match(text, /\nforce_path_style = true\n/);
  assert.doesNotMatch(text, /webdav|sftp|ftp/);
});

test('webdav, sftp and ftp sections when given', () => {
  const text = rcloneConfig({
    name: 'ps',
    endpoint: 'https://gw:8443',
    accessKey: 'AKID',
    secretKey: 'secret-key',
    webdavUrl: 'https://gw:8443/d/',
    sftp: { host: 'gw', port: 2222 },
    ftp: { host: 'gw', port: 2121, tls: true },
  });
  assert.match(text, /\[ps-webdav\]\ntype = webdav\nurl = https:\/\/gw:8443\/d\/\n/);
  assert.match(text, /\[ps-sftp\]\ntype = sftp\nhost = gw\nport = 2222\n/);
  assert.match(text, /\[ps-ftp\]\ntype = ftp\nhost = gw\nport = 2121\n[^[]*explicit_tls = true/);
  assert.doesNotMatch(text, /pass = secret-key/);
});

test('obscured passwords are revealed by rclone itself', { skip: hasRclone() ? false : 'rclone is not installed' }, () => {
  const out = execFileSync('rclone', ['reveal', '--', rcloneObscure('pa:ss wörd')], { encoding: 'utf8' });
  assert.equal(out.trim(), 'pa:ss wörd');
});
