/**
 * Starts the real HTTP listener (gateway/http-server.ts) on 127.0.0.1:0 over a TenantStores, for
 * S3 tests and compat tests. The stores come from `opts.stores` (a factory), else from
 * `defaultTestStores`, which is the ONE place to switch the whole suite to another store:
 * `setDefaultTestStores(factory)`, or `PEERSTOR_TEST_STORE=memory` in the environment for the
 * in-memory reference store (the default is the embedded PeerStore on a disk volume in a temp dir).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../backend/core/logger.js';
import type { TenantStores } from '../../backend/core/object-store.js';
import { MemoryTenantStores } from '../../backend/store/memory-object-store.js';
import { UserRegistry, type User } from '../../gateway/common/users.js';
import { createHttpServer, type HttpServer, type HttpServerInit } from '../../gateway/http-server.js';

/** A store for one test gateway, and how to release it when the gateway closes. */
export interface TestStores {
  stores: TenantStores;
  close?: () => Promise<void>;
}

export type StoresFactory = () => TenantStores | TestStores | Promise<TenantStores | TestStores>;

/** The embedded default store (disk fragments, RS 10+6) in a fresh temp dir. */
export async function peerTestStores(): Promise<TestStores> {
  const { DiskFragmentStore } = await import('../../backend/fragments/disk-fragment-store.js');
  const { LocalPlacement } = await import('../../backend/store/local-placement.js');
  const { PeerStore } = await import('../../backend/store/peer-store.js');
  const logger = silentLogger();
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-test-store-'));
  const fragments = await DiskFragmentStore.open({ volumes: [{ path: join(dir, 'vol'), mode: 'rw' }], logger });
  // Few KDF iterations: tests open many tenants and do not test key stretching.
  const stores = await PeerStore.open({ stateDir: join(dir, 'state'), kdfIterations: 1000 }, { logger, placement: new LocalPlacement({ store: fragments, logger }) });
  return {
    stores,
    async close() {
      await stores.close();
      await fragments.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The store every S3/compat test runs on unless it passes its own: the real embedded store, so
 *  the real clients test the product; `PEERSTOR_TEST_STORE=memory` runs them on the reference
 *  in-memory store instead (to tell a front-end bug from a store bug). */
export let defaultTestStores: StoresFactory =
  process.env.PEERSTOR_TEST_STORE === 'memory' ? () => new MemoryTenantStores() : peerTestStores;

/** Lets a test runner (or the integrator) switch every test gateway to another store. */
export function setDefaultTestStores(factory: StoresFactory): void {
  defaultTestStores = factory;
}

export const TEST_USERS: User[] = [
  { accessKey: 'AKIDPEERSTORTEST1', secretKey: 'secret-key-number-one-0123456789' },
  { accessKey: 'AKIDPEERSTORTEST2', secretKey: 'secret-key-number-two-9876543210' },
];

export interface TestGatewayOptions {
  stores?: StoresFactory;
  users?: User[];
  init?: Omit<HttpServerInit, 'listen'>;
}

export interface TestGateway {
  url: string;
  users: User[];
  stores: TenantStores;
  server: HttpServer;
  close(): Promise<void>;
}

function isTestStores(x: TenantStores | TestStores): x is TestStores {
  return 'stores' in x && typeof (x as TestStores).stores?.open === 'function';
}

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const users = opts.users ?? TEST_USERS;
  const made = await (opts.stores ?? defaultTestStores)();
  const { stores, close: closeStores } = isTestStores(made) ? made : { stores: made, close: undefined };
  const server = await createHttpServer({ ...opts.init, listen: '127.0.0.1:0' }, { users: new UserRegistry(users), stores });
  return {
    url: server.url,
    users,
    stores,
    server,
    async close() {
      await server.close();
      await closeStores?.();
    },
  };
}
