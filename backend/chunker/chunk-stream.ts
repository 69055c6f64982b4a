import type { Chunker } from './chunker.js';

/**
 * Cuts a byte stream into chunks (Buffers of their own, each <= maxSize; the last may be
 * < minSize). Resets `chunker` first, so the stream's first byte starts a chunk. Memory is bounded
 * by about maxSize plus one input buffer: bytes of an unfinished chunk are copied out of the input
 * piece before the next one is pulled (a source may reuse its buffers). Back-pressure: the source
 * is read only when the consumer asks for the next chunk; stopping early closes the source.
 * Empty input yields no chunk.
 */
export async function* chunkStream(source: AsyncIterable<Uint8Array>, chunker: Chunker): AsyncGenerator<Buffer> {
  chunker.reset();
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const take = (last: Uint8Array): Buffer => {
    const out = Buffer.allocUnsafe(pendingLen + last.length);
    let at = 0;
    for (const p of pending) {
      out.set(p, at);
      at += p.length;
    }
    out.set(last, at);
    pending = [];
    pendingLen = 0;
    return out;
  };
  for await (const piece of source) {
    if (piece.length === 0) continue;
    let from = 0;
    for (const cut of chunker.scan(piece)) {
      yield take(piece.subarray(from, cut));
      from = cut;
    }
    if (from < piece.length) {
      pending.push(Buffer.from(piece.subarray(from)));
      pendingLen += piece.length - from;
    }
  }
  if (pendingLen > 0) yield take(new Uint8Array(0));
}
