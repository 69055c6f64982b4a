/**
 * Memory for fragment GETs on both ends (FragmentOpOptions.allocate): the peer reads a fragment
 * into pooled memory and reuses it only once the reply has been handed down, so concurrent replies
 * never share bytes; RemoteFragmentStore receives a reply into the caller's memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { identityFromKey } from '../../backend/network/identity.js';
import { startDataPlane } from '../../backend/network/data-plane.js';
import { RemoteFragmentStore } from '../../backend/network/remote-fragment-store.js';
import { silentLogger } from '../../backend/core/logger.js';
import { isStoreError } from '../../backend/core/errors.js';
import type { FragmentOpOptions, FragmentStore } from '../../backend/core/fragment-store.js';
import { TinyStore, fragmentOf } from './helpers/tiny-store.js';

/** TinyStore whose get reads into `allocate` when given one, and records the memory it used */
class AllocatingStore extends TinyStore {
  readonly used: ArrayBufferLike[] = [];
  override async get(id: string, options?: FragmentOpOptions): Promise<Buffer> {
    const bytes = await super.get(id);
    if (!options?.allocate) return bytes;
    // like the disk store's read: the memory is filled on a later turn of the event loop, while
    // other replies are being sent
    await new Promise((r) => setImmediate(r));
    const out = options.allocate(bytes.length);
    bytes.copy(out);
    this.used.push(out.buffer);
    return out;
  }
}

async function setup(store: FragmentStore) {
  const identity = await identityFromKey(await generateKeyPair('Ed25519'));
  const networkKey = randomBytes(32);
  const server = await startDataPlane({ host: '127.0.0.1', port: 0, identity, networkKey, logger: silentLogger() }, { store });
  const remote = new RemoteFragmentStore({ address: server.address, peerId: identity.peerId, networkKey });
  return { server, remote };
}

test('data plane: GET replies come from reused memory, never shared by replies in flight', async () => {
  const store = new AllocatingStore();
  const { server, remote } = await setup(store);
  try {
    // 40 at once, as a gateway's read-ahead asks; large enough to take many TLS records each
    const frags = Array.from({ length: 40 }, () => fragmentOf(randomBytes(150 * 1024 + Math.floor(Math.random() * 1024))));
    for (const f of frags) await remote.put(f.id, f.data);
    for (let round = 0; round < 2; round++) {
      const got = await Promise.all(frags.map((f) => remote.get(f.id, { callerVerifies: true })));
      got.forEach((b, i) => assert.ok(b.equals(frags[i].data), `round ${round}: fragment ${i} came back with other bytes`));
    }
    // 8 lanes, each asking again as soon as its reply is in: requests arrive while other replies
    // are still being sent, so memory given back too early would be refilled under them
    let next = 0;
    const wrong: string[] = [];
    const lane = async (): Promise<void> => {
      // a lane stops at the first failure (no assertion inside: every lane ends before the checks)
      while (next < 240 && wrong.length === 0) {
        const f = frags[next++ % frags.length];
        const b = await remote.get(f.id, { callerVerifies: true }).catch((err: unknown) => String(err));
        if (typeof b === 'string') wrong.push(b);
        else if (!b.equals(f.data)) wrong.push(`${b.length} bytes instead of ${f.data.length}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    assert.deepEqual(wrong, [], 'fragments came back with other bytes');
    const gets = store.used.length;
    assert.equal(gets, 320);
    assert.ok(new Set(store.used).size < gets / 2, `${new Set(store.used).size} distinct buffers for ${gets} gets: memory is not reused`);
  } finally {
    await remote.close();
    await server.close();
  }
});

test('RemoteFragmentStore: a GET reply lands in the memory the caller allocates; errors do not use it', async () => {
  const store = new TinyStore();
  const { server, remote } = await setup(store);
  try {
    const f = fragmentOf(randomBytes(200 * 1024));
    await remote.put(f.id, f.data);
    const given: Buffer[] = [];
    const allocate = (length: number): Buffer => {
      const b = Buffer.allocUnsafeSlow(length);
      given.push(b);
      return b;
    };
    for (const callerVerifies of [true, false]) {
      const b = await remote.get(f.id, { callerVerifies, allocate });
      assert.ok(b.equals(f.data));
      assert.equal(b.buffer, given.at(-1)?.buffer, 'the reply is not in the allocated memory');
    }
    assert.equal(given.length, 2);
    await assert.rejects(remote.get(fragmentOf(randomBytes(10)).id, { allocate }), (e) => isStoreError(e, 'FragmentNotFound'));
    assert.equal(given.length, 2, 'an error reply was read into the caller’s memory');
  } finally {
    await remote.close();
    await server.close();
  }
});
