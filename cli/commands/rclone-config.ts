/**
 * `peerstor rclone-config`: prints ready rclone.conf sections for --gateway (generator in
 * rclone-config/, owned by the S3 front end): an S3 remote and a WebDAV remote at URL/d/, plus
 * SFTP / FTP remotes when --sftp-listen / --ftp-listen name their addresses. The user is the first
 * of --user / --credentials, or the key pair a gateway generated into <state>/credentials.
 */
import { rcloneConfig } from '../../rclone-config/rclone-config.js';
import { loadUsers } from '../compose.js';
import type { CliConfig } from '../config.js';
import type { CliIo } from '../io.js';
import { UsageError } from '../usage-error.js';

export async function runRcloneConfig(config: CliConfig, io: CliIo): Promise<number> {
  const { registry } = await loadUsers(config, { readStored: true });
  const user = registry.all()[0];
  if (!user) {
    throw new UsageError('--user: no user to configure: give --user AK:SK or --credentials FILE (or -v / --state of a gateway that generated its key pair)');
  }
  const endpoint = config.gateway.href.replace(/\/$/, '');
  io.stdout(
    rcloneConfig({
      endpoint,
      accessKey: user.accessKey,
      secretKey: user.secretKey,
      region: config.region ?? 'us-east-1',
      webdavUrl: new URL('/d/', config.gateway).href,
      sftp: config.sftpListen,
      ftp: config.ftpListen ? { ...config.ftpListen, tls: config.ftpsOnly } : undefined,
    }),
  );
  return 0;
}
