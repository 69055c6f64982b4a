/**
 * Plain JavaScript rolling kernel: one byte per step. It is the fallback where WebAssembly is not
 * available (node --jitless) and the reference the WASM kernel is tested against. V8 keeps typed
 * array checks inside the loop, so it runs at about half the WASM kernel's speed.
 */
import type { RollingKernel } from './kernel.js';
import { T_MOD1, T_OUT, T_SUB } from './tables.js';
import { WINDOW_SIZE } from './params.js';

export function createJsKernel(table: Int32Array): RollingKernel {
  let last = 0;
  return {
    kind: 'js',
    get h() {
      return last;
    },
    roll(buf: Uint8Array, from: number, to: number, h0: number, threshold: number): number {
      // locals, not imported bindings: a transpiled import is a property load on every use
      const T = table;
      const thr = threshold;
      const OUT = T_OUT;
      const SUB = T_SUB;
      const MOD1 = T_MOD1;
      const W = WINDOW_SIZE;
      let h = h0 | 0;
      for (let i = from; i < to; i++) {
        h = (h << 8) ^ T[MOD1 + (h >>> 24)] ^ T[SUB + buf[i]] ^ T[OUT + buf[i - W]];
        if (h >>> 0 < thr) {
          last = h;
          return i;
        }
      }
      last = h;
      return -1;
    },
  };
}
