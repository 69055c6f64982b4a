/**
 * Turns an upload's raw request stream into the `Body` handed to the store: aws-chunked decoding,
 * payload SHA-256 verification, additional-checksum (x-amz-checksum-*) computation and
 * verification, and the decoded length check. Every verification happens while streaming and
 * fails by THROWING from the iterator before it completes, so the store sees an aborted body and
 * commits nothing (ObjectStore contract: a failed put leaves no visible object).
 *
 * The checksum value is only known after the last byte (trailers), so `checksum` is exposed as a
 * getter the handler passes into PutOptions; it is complete by the time the body iterator ends.
 */
import type { IncomingMessage } from 'node:http';
import type { Body, ChecksumAlgorithm, ChecksumValue } from '../../backend/core/object-store.js';
import { createBodyHasher, type BodyHashAlgorithm } from '../common/body-hasher.js';
import { decodeAwsChunked } from './aws-chunked.js';
import { checksumHeaderName, createChecksummer, digestLength, parseChecksumAlgorithm, CHECKSUM_ALGORITHMS } from './checksums.js';
import { S3Error, s3Errors } from './errors.js';
import type { AuthResult } from './sigv4.js';

export interface UploadBody {
  body: Body;
  /** bytes the client announced (decoded length for aws-chunked), if known */
  expectedSize?: number;
  /** raw Content-MD5 for the store to verify */
  contentMd5?: Buffer;
  /** the additional checksum: the client's up-front value at once, a trailing or server-computed
   *  one only after the body has been consumed */
  readonly checksum: ChecksumValue | undefined;
  /** the protocol failure raised inside the iterator, if any (the store may wrap it) */
  readonly failure: S3Error | undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Content-MD5 must be base64 of 16 bytes. */
export function parseContentMd5(req: IncomingMessage): Buffer | undefined {
  const text = header(req, 'content-md5');
  if (text === undefined) return undefined;
  const raw = Buffer.from(text, 'base64');
  if (raw.length !== 16 || raw.toString('base64') !== text.trim()) throw s3Errors.invalidDigest();
  return raw;
}

/** Which additional checksum the request carries: value in a header now, or announced for the trailer. */
export function requestedChecksum(req: IncomingMessage): { algorithm: ChecksumAlgorithm; value?: string; fromTrailer: boolean } | undefined {
  const given = CHECKSUM_ALGORITHMS.filter((a) => header(req, checksumHeaderName(a)) !== undefined);
  if (given.length > 1) throw s3Errors.invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  if (given.length === 1) {
    const algorithm = given[0];
    const value = header(req, checksumHeaderName(algorithm))!.trim();
    if (Buffer.from(value, 'base64').length !== digestLength(algorithm)) {
      throw s3Errors.invalidRequest(`Value for ${checksumHeaderName(algorithm)} header is invalid.`);
    }
    return { algorithm, value, fromTrailer: false };
  }
  const trailer = header(req, 'x-amz-trailer');
  if (trailer) {
    const name = trailer.trim().toLowerCase();
    const algorithm = name.startsWith('x-amz-checksum-') ? parseChecksumAlgorithm(name.slice('x-amz-checksum-'.length)) : undefined;
    if (!algorithm) throw s3Errors.invalidRequest(`The value specified in the x-amz-trailer header is not supported`);
    return { algorithm, fromTrailer: true };
  }
  const sdkAlg = header(req, 'x-amz-sdk-checksum-algorithm');
  if (sdkAlg) {
    const algorithm = parseChecksumAlgorithm(sdkAlg);
    if (!algorithm) throw s3Errors.invalidRequest('Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]');
    // Announced but no value sent: S3 computes and stores it.
    return { algorithm, fromTrailer: false };
  }
  return undefined;
}

/** The additional checksums the body hasher computes, by its algorithm name. */
const OFFLOADED: Partial<Record<ChecksumAlgorithm, BodyHashAlgorithm>> = { SHA256: 'sha256', SHA1: 'sha1', CRC32: 'crc32' };

export interface UploadBodyInit {
  /** hard cap on the decoded size (EntityTooLarge) */
  maxSize?: number;
  /** check Content-MD5 here instead of leaving it to the store (bodies the gateway itself consumes) */
  verifyMd5?: boolean;
}

export function uploadBody(req: IncomingMessage, auth: AuthResult, opts: UploadBodyInit = {}): UploadBody {
  const mode = auth.payload;
  const streaming = mode.kind === 'streaming-signed' || mode.kind === 'streaming-unsigned-trailer';
  const contentLength = header(req, 'content-length');
  let expectedSize: number | undefined;
  if (streaming) {
    const decoded = header(req, 'x-amz-decoded-content-length');
    if (decoded !== undefined) {
      if (!/^\d+$/.test(decoded)) throw s3Errors.invalidArgument('x-amz-decoded-content-length is not a number', 'x-amz-decoded-content-length', decoded);
      expectedSize = Number(decoded);
    } else if (mode.kind === 'streaming-signed') {
      throw s3Errors.missingContentLength();
    }
  } else if (contentLength !== undefined) {
    expectedSize = Number(contentLength);
  } else if (header(req, 'transfer-encoding') === undefined) {
    expectedSize = 0;
  }
  if (opts.maxSize !== undefined && expectedSize !== undefined && expectedSize > opts.maxSize) throw s3Errors.entityTooLarge();

  const contentMd5 = parseContentMd5(req);
  const wanted = requestedChecksum(req);
  if (wanted?.fromTrailer && !streaming) throw s3Errors.invalidRequest('x-amz-trailer requires an aws-chunked body');

  let checksum: ChecksumValue | undefined;
  let failure: S3Error | undefined;
  let trailerValue: string | undefined;

  const source: AsyncIterable<Uint8Array> = streaming
    ? decodeAwsChunked(req, {
        signing: mode.kind === 'streaming-signed' ? auth.signing : undefined,
        trailer: mode.kind === 'streaming-unsigned-trailer' || (mode.kind === 'streaming-signed' && mode.trailer),
        onTrailer: (t) => {
          if (wanted?.fromTrailer) trailerValue = t.get(checksumHeaderName(wanted.algorithm));
        },
      })
    : req;

  async function* verified(): AsyncGenerator<Uint8Array> {
    // SHA-256, SHA-1, MD5 and CRC32 run on the body hasher's thread (gateway/common/body-hasher.ts);
    // CRC32C and CRC64NVME are this module's own JS and stay here.
    const sumOffloaded = wanted ? OFFLOADED[wanted.algorithm] : undefined;
    const offload: BodyHashAlgorithm[] = [];
    if (mode.kind === 'sha256') offload.push('sha256');
    if (sumOffloaded) offload.push(sumOffloaded);
    if (opts.verifyMd5 && contentMd5) offload.push('md5');
    const hasher = offload.length > 0 ? createBodyHasher(offload) : undefined;
    try {
      const sum = wanted && !sumOffloaded ? createChecksummer(wanted.algorithm) : undefined;
      let size = 0;
      for await (const chunk of source) {
        size += chunk.length;
        if (opts.maxSize !== undefined && size > opts.maxSize) throw s3Errors.entityTooLarge();
        const backlog = hasher?.update(chunk);
        if (backlog) await backlog;
        sum?.update(chunk);
        yield chunk;
      }
      if (expectedSize !== undefined && size !== expectedSize) throw s3Errors.incompleteBody();
      const digests = hasher ? await hasher.digest() : undefined;
      if (mode.kind === 'sha256' && digests?.sha256.toString('hex') !== mode.hash) throw s3Errors.contentSha256Mismatch();
      if (opts.verifyMd5 && contentMd5 && !digests?.md5.equals(contentMd5)) throw s3Errors.badDigest();
      if (wanted) {
        const computed = (sumOffloaded ? digests![sumOffloaded] : sum!.digest()).toString('base64');
        const claimed = wanted.fromTrailer ? trailerValue : wanted.value;
        if (wanted.fromTrailer && claimed === undefined) throw s3Errors.invalidRequest('The trailing checksum announced in x-amz-trailer was not sent.');
        if (claimed !== undefined && claimed !== computed) {
          throw s3Errors.badDigest(`The ${wanted.algorithm} you specified did not match the calculated checksum.`);
        }
        checksum = { algorithm: wanted.algorithm, value: computed, type: 'FULL_OBJECT' };
      }
    } catch (err) {
      if (err instanceof S3Error) failure = err;
      throw err;
    } finally {
      // (a no-op once digest() ran; otherwise the body failed or its reader stopped early)
      hasher?.abort();
    }
  }

  // A value the client sent up front is what gets stored if the body matches it (and nothing is
  // stored if not), so it can be handed out before the body has been read.
  const announced: ChecksumValue | undefined =
    wanted && !wanted.fromTrailer && wanted.value !== undefined ? { algorithm: wanted.algorithm, value: wanted.value, type: 'FULL_OBJECT' } : undefined;

  return {
    body: verified(),
    expectedSize,
    contentMd5,
    get checksum() {
      return checksum ?? announced;
    },
    get failure() {
      return failure;
    },
  };
}
