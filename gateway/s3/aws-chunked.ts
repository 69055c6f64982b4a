/**
 * Decoder for `Content-Encoding: aws-chunked` bodies (S3 API reference, "Transferring Payload in
 * Multiple Chunks" and "Signature calculations for trailing headers"):
 *
 *   hex-size[;chunk-signature=SIG]\r\n <bytes> \r\n … 0[;chunk-signature=SIG]\r\n [trailer lines\r\n] \r\n
 *
 * Data is yielded as it arrives (no per-chunk buffering); each chunk's signature is checked when
 * the chunk ends, so a bad signature makes the iterator throw before the body is complete and the
 * store never commits it.
 */
import { createHash, type Hash } from 'node:crypto';
import { S3Error, s3Errors } from './errors.js';
import { chunkSignature, safeEqualHex, trailerSignature, type ChunkSigningContext } from './sigv4.js';

export interface AwsChunkedInit {
  /** present for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: every chunk must be signed */
  signing?: ChunkSigningContext;
  /** a trailer section follows the final chunk */
  trailer: boolean;
  /** receives the trailing headers (lower-case names) once they have been read and verified */
  onTrailer?: (headers: Map<string, string>) => void;
}

const MAX_LINE = 8192;
const CRLF = Buffer.from('\r\n');

function malformed(msg: string): S3Error {
  return new S3Error('IncompleteBody', 400, `Malformed aws-chunked body: ${msg}`);
}

export async function* decodeAwsChunked(source: AsyncIterable<Uint8Array>, init: AwsChunkedInit): AsyncGenerator<Buffer> {
  type State = 'header' | 'data' | 'data-crlf' | 'final-crlf' | 'trailer' | 'done';
  let state: State = 'header';
  let buf: Buffer = Buffer.alloc(0);
  let remaining = 0;
  let chunkHash: Hash | undefined;
  let expectedSig = '';
  let previousSig = init.signing?.seedSignature ?? '';
  const trailers = new Map<string, string>();
  let trailerSig: string | undefined;

  const verifyChunk = (hashHex: string): void => {
    if (!init.signing) return;
    const sig = chunkSignature(init.signing, previousSig, hashHex);
    if (!safeEqualHex(sig, expectedSig)) throw s3Errors.signatureDoesNotMatch();
    previousSig = sig;
  };

  const finishTrailer = (): void => {
    if (init.signing && init.trailer) {
      if (trailerSig === undefined) throw s3Errors.signatureDoesNotMatch();
      const canonical = [...trailers].map(([k, v]) => `${k}:${v}\n`).join('');
      if (!safeEqualHex(trailerSignature(init.signing, previousSig, canonical), trailerSig)) throw s3Errors.signatureDoesNotMatch();
    }
    init.onTrailer?.(trailers);
  };

  for await (const piece of source) {
    const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.length);
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length > 0) {
      if (state === 'data') {
        const take = Math.min(remaining, buf.length);
        const out = buf.subarray(0, take);
        chunkHash?.update(out);
        buf = buf.subarray(take);
        remaining -= take;
        if (remaining === 0) state = 'data-crlf';
        yield out;
        continue;
      }
      if (state === 'data-crlf') {
        if (buf.length < 2) break;
        if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw malformed('chunk data not followed by CRLF');
        buf = buf.subarray(2);
        if (chunkHash) verifyChunk(chunkHash.digest('hex'));
        state = 'header';
        continue;
      }
      if (state === 'done') {
        // Tolerate trailing CRLFs some encoders add; anything else is garbage.
        if (buf.every((b) => b === 0x0d || b === 0x0a)) {
          buf = Buffer.alloc(0);
          break;
        }
        throw malformed('data after the final chunk');
      }
      const eol = buf.indexOf(CRLF);
      if (eol < 0) {
        if (buf.length > MAX_LINE) throw malformed('line too long');
        break;
      }
      const line = buf.subarray(0, eol).toString('latin1');
      buf = buf.subarray(eol + 2);
      if (state === 'header') {
        const semi = line.indexOf(';');
        const sizeText = (semi < 0 ? line : line.slice(0, semi)).trim();
        if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText)) throw malformed('bad chunk size');
        const size = parseInt(sizeText, 16);
        if (init.signing) {
          const m = /chunk-signature=([0-9a-fA-F]{64})/.exec(line.slice(semi + 1));
          if (semi < 0 || !m) throw s3Errors.signatureDoesNotMatch();
          expectedSig = m[1].toLowerCase();
          chunkHash = createHash('sha256');
        }
        if (size === 0) {
          if (chunkHash) verifyChunk(chunkHash.digest('hex'));
          state = init.trailer ? 'trailer' : 'final-crlf';
        } else {
          remaining = size;
          state = 'data';
        }
        continue;
      }
      if (state === 'final-crlf') {
        if (line !== '') throw malformed('expected CRLF after the final chunk');
        state = 'done';
        continue;
      }
      // trailer
      if (line === '') {
        finishTrailer();
        state = 'done';
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) throw malformed('bad trailer line');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'x-amz-trailer-signature') trailerSig = value.toLowerCase();
      else trailers.set(name, value);
    }
  }
  // Some encoders end right after the last line without the closing CRLF.
  if (state === 'final-crlf') state = 'done';
  if (state === 'trailer' && buf.length === 0 && (trailers.size > 0 || trailerSig !== undefined)) {
    finishTrailer();
    state = 'done';
  }
  if (state !== 'done') throw s3Errors.incompleteBody();
}
