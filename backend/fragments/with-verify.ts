/**
 * Re-hashes what get returns and throws Corrupt on a mismatch. For stores that cannot be trusted
 * to check (remote peers are assumed hostile); local stores already check on read.
 */
import { StoreError } from '../core/errors.js';
import type { FragmentStore } from '../core/fragment-store.js';
import { fragmentIdOf } from './fragment-id.js';
import { intercept } from './intercept.js';

export interface VerifyInit {
  /** called with the id of each corrupt fragment seen (e.g. to report the peer) */
  onCorrupt?: (id: string) => void;
}

export function withVerify(inner: FragmentStore, init: VerifyInit = {}): FragmentStore {
  // Everything but get passes straight through.
  const base = intercept(inner, (ctx, run) => run(ctx.options));
  return {
    ...base,
    get: async (id, options) => {
      const bytes = await inner.get(id, options);
      if (fragmentIdOf(bytes) !== id) {
        init.onCorrupt?.(id);
        throw new StoreError('Corrupt', `fragment ${id}: returned bytes do not match its hash`);
      }
      return bytes;
    },
  };
}
