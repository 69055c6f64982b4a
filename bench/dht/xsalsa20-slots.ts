/**
 * How many `xsalsa20` package cipher slots this process ever took: the leak behind the old pnet
 * crash (bench/dht/README.md). 0 when nothing in the process loaded the package, which is the case
 * since the control plane uses backend/network/private-network.ts instead of @libp2p/pnet; a
 * non-zero figure means something brought @libp2p/pnet (or another xsalsa20 user) back.
 * Looks the module up in the CommonJS cache, so measuring never loads it; the probe cipher is
 * finalized, so measuring takes no slot either.
 */
import { createRequire } from 'node:module';

interface PackageCipher {
  _xor: { _pointer?: number; _memory?: Uint8Array } | null;
  finalize(): void;
}
type XSalsa20 = (nonce: Uint8Array, key: Uint8Array) => PackageCipher;

const require = createRequire(import.meta.url);

function loaded(): XSalsa20 | undefined {
  try {
    return require.cache[require.resolve('xsalsa20')]?.exports as XSalsa20 | undefined;
  } catch {
    // not installed at all
    return undefined;
  }
}

export interface SlotUsage {
  /** slots ever taken; 0 when the package is not loaded */
  slots: number;
  /** pages of the package's WASM memory (10 at start, the crash comes at the 1000-page cap); 0 when not loaded */
  wasmPages: number;
}

export function xsalsa20Slots(): SlotUsage {
  const XS = loaded();
  if (!XS) return { slots: 0, wasmPages: 0 };
  const probe = XS(new Uint8Array(24), new Uint8Array(32));
  const x = probe._xor;
  const usage = x?._pointer === undefined ? { slots: NaN, wasmPages: NaN } : { slots: (x._pointer - 144) / 64, wasmPages: x._memory!.length / 65536 };
  probe.finalize();
  return usage;
}
