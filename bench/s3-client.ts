/** The AWS SDK client the S3 benches drive: path-style, keep-alive, 64 sockets. */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export function benchS3Client(url: string, user: { accessKey: string; secretKey: string }, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: user.accessKey, secretAccessKey: user.secretKey },
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 } },
    ...extra,
  });
}
