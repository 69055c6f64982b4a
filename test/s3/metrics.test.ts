// S3 requests show up in the Prometheus metrics: counted per operation and error code, timed,
// with bytes in and out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { createHttpServer } from '../../gateway/http-server.js';
import { UserRegistry } from '../../gateway/common/users.js';
import { MemoryTenantStores } from '../../backend/store/memory-object-store.js';
import { createMetrics } from '../../backend/metrics/metrics.js';

test('S3 requests are counted, timed and their bytes added up', async () => {
  const metrics = createMetrics({ processMetrics: false });
  const users = new UserRegistry([{ accessKey: 'metricsuser', secretKey: 'metrics-secret-1' }]);
  const http = await createHttpServer({ listen: '127.0.0.1:0' }, { users, stores: new MemoryTenantStores(), metrics });
  const s3 = new S3Client({
    endpoint: http.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'metricsuser', secretAccessKey: 'metrics-secret-1' },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'metered' }));
    const body = Buffer.alloc(12345, 7);
    await s3.send(new PutObjectCommand({ Bucket: 'metered', Key: 'k', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'metered', Key: 'k' }));
    assert.equal((await got.Body!.transformToByteArray()).length, body.length);
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'metered', Key: 'missing' })));
    await fetch(`${http.url}/metered/k`); // anonymous → AccessDenied

    const text = await metrics.registry.metrics();
    const line = (re: RegExp) => text.split('\n').find((l) => re.test(l));
    assert.match(line(/requests_total\{.*operation="PutObject".*code="OK"/) ?? '', / 1$/);
    assert.match(line(/requests_total\{.*operation="GetObject".*code="OK"/) ?? '', / 1$/);
    assert.match(line(/requests_total\{.*operation="GetObject".*code="NoSuchKey"/) ?? '', / 1$/);
    assert.ok(line(/requests_total\{.*code="AccessDenied"/), 'anonymous request counted as AccessDenied');
    const bytesIn = Number(line(/received_bytes_total\{protocol="s3"\}/)?.split(' ').at(-1));
    const bytesOut = Number(line(/sent_bytes_total\{protocol="s3"\}/)?.split(' ').at(-1));
    assert.ok(bytesIn >= body.length, `bytes in ${bytesIn}`);
    assert.ok(bytesOut >= body.length, `bytes out ${bytesOut}`);
    assert.ok(line(/request_duration_seconds_count\{.*operation="PutObject"/), 'latency histogram has PutObject');
  } finally {
    s3.destroy();
    await http.close();
  }
});
