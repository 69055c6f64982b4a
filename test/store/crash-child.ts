/**
 * Child process of crash-safety.test.ts: puts objects of mixed sizes in a loop and prints
 * `BEGIN key sha256` before and `ACK key sha256` after each put resolves, until it is killed.
 * argv: stateDir volumeDir seed
 */
import { createHash } from 'node:crypto';
import { silentLogger } from '../../backend/core/logger.js';
import { isStoreError } from '../../backend/core/errors.js';
import { DiskFragmentStore } from '../../backend/fragments/disk-fragment-store.js';
import { LocalPlacement } from '../../backend/store/local-placement.js';
import { PeerStore } from '../../backend/store/peer-store.js';
import { randomBytesFast } from '../../bench/lib.js';
import { CRASH_STORE_INIT, CRASH_TENANT } from './crash-config.js';
import { testChunker } from './helpers.js';

const [stateDir, volume, seedText] = process.argv.slice(2);
const seed = Number(seedText);
const logger = silentLogger();
const fragments = await DiskFragmentStore.open({ volumes: [{ path: volume, mode: 'rw' }], logger });
const stores = await PeerStore.open({ ...CRASH_STORE_INIT, stateDir }, { logger, placement: new LocalPlacement({ store: fragments, logger }), chunker: await testChunker() });
const store = await stores.open(CRASH_TENANT);
try {
  await store.createBucket('crash');
} catch (err) {
  if (!isStoreError(err, 'BucketAlreadyOwnedByYou')) throw err;
}
const sizes = [100, 3000, 40_000, 90_000, 300_000, 700_000];
for (let i = 0; ; i++) {
  const size = sizes[(seed + i) % sizes.length] + ((seed * 7919 + i * 104729) % 1000);
  const data = randomBytesFast(size, seed * 100_000 + i + 1);
  // every fourth put overwrites a shared key, so replacement is exercised too
  const key = i % 4 === 3 ? 'hot' : `k-${seed}-${i}`;
  const sha = createHash('sha256').update(data).digest('hex');
  process.stdout.write(`BEGIN ${key} ${sha}\n`);
  await store.putObject('crash', key, (async function* () {
    for (let at = 0; at < data.length; at += 32 * 1024) yield data.subarray(at, at + 32 * 1024);
  })());
  process.stdout.write(`ACK ${key} ${sha}\n`);
}
