/**
 * The hot loop behind Chunker.scan, as a small seam so the WASM and the plain JavaScript versions
 * are interchangeable (and the JS one checks the WASM one in tests).
 */
export interface RollingKernel {
  /**
   * Slides fingerprint `h` over buf[from..to). buf[from-64..from) MUST hold the 64 bytes before
   * `from` in the stream (the window; the caller stages them when they come from an earlier
   * call), so from >= 64, and `h` MUST be their fingerprint (what the previous roll left, or 0
   * for a window of zeroByte): the WASM kernel starts lanes inside the range from the bytes
   * alone, so given any other h it would disagree with the JS kernel. Returns the first index i
   * whose fingerprint (after taking in buf[i]), read as unsigned, is below `threshold`, or -1;
   * either way `h` then holds the fingerprint at that index (or at to-1). threshold 0 never cuts
   * (used to prime the window). Never throws on valid arguments; keeps no reference to buf.
   */
  roll(buf: Uint8Array, from: number, to: number, h: number, threshold: number): number;
  /** the fingerprint after the last roll, as an int32 */
  readonly h: number;
  /** 'wasm' or 'js', for benches and logs */
  readonly kind: string;
}
