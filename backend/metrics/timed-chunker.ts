/**
 * The `chunk` pipeline stage: a content-defined chunker (backend/store/chunking.ts's `Chunker`,
 * matched structurally so this folder needs no store import) whose scan time is recorded per
 * chunk. scan() runs on input pieces, not chunks, so time and bytes are summed across calls and
 * handed out when a boundary is found (shared evenly by the chunks one call cut); what is left at
 * a reset() is recorded as one more chunk (the bytes after a stream's last boundary, which the
caller cuts itself, are not). Cost: two clock reads per input piece.
 */
import type { Metrics } from './metrics.js';

export interface ScanningChunker {
  scan(data: Uint8Array): number[];
  reset(): void;
}

export function timeChunker(inner: ScanningChunker, metrics: Metrics): ScanningChunker {
  let seconds = 0;
  let bytes = 0;
  const flush = (chunks: number, flushBytes: number): void => {
    for (let i = 0; i < chunks; i++) metrics.observeStage('chunk', seconds / chunks, flushBytes / chunks);
    seconds = 0;
  };
  return {
    scan(data) {
      const t0 = process.hrtime.bigint();
      const cuts = inner.scan(data);
      seconds += Number(process.hrtime.bigint() - t0) / 1e9;
      if (cuts.length === 0) {
        bytes += data.length;
        return cuts;
      }
      // bytes up to the last cut belong to the chunks cut here; the rest starts the next one
      const lastCut = cuts[cuts.length - 1];
      flush(cuts.length, bytes + lastCut);
      bytes = data.length - lastCut;
      return cuts;
    },
    reset() {
      if (bytes > 0) flush(1, bytes);
      bytes = 0;
      seconds = 0;
      inner.reset();
    },
  };
}
