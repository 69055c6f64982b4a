/** Settings shared by crash-safety.test.ts and its child process. */
import type { StoreInit } from '../../backend/store/peer-store.js';

export const CRASH_STORE_INIT: Omit<StoreInit, 'stateDir'> = {
  avgChunkSize: 64 * 1024,
  erasure: { k: 4, n: 6 },
  kdfIterations: 1000,
  inlineThreshold: 4096,
  gcIntervalMs: 0,
};

export const CRASH_TENANT = { accessKey: 'crash-tenant', secretKey: 'crash-secret' };
