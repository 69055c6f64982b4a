/**
 * Starts the real HTTP listener (gateway/http-server.ts) on 127.0.0.1:0 over a TenantStores, for
 * S3 tests and compat tests. The stores come from `opts.stores` (a factory), else from
 * `defaultTestStores`, which is the ONE place to switch the whole suite to another store.
 */
import type { TenantStores } from '../../backend/core/object-store.js';
import { MemoryTenantStores } from '../../backend/store/memory-object-store.js';
import { UserRegistry, type User } from '../../gateway/common/users.js';
import { createHttpServer, type HttpServer, type HttpServerInit } from '../../gateway/http-server.js';

export type StoresFactory = () => TenantStores | Promise<TenantStores>;

/** The store every S3/compat test runs on unless it passes its own. */
export let defaultTestStores: StoresFactory = () => new MemoryTenantStores();

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

export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const users = opts.users ?? TEST_USERS;
  const stores = await (opts.stores ?? defaultTestStores)();
  const server = await createHttpServer({ ...opts.init, listen: '127.0.0.1:0' }, { users: new UserRegistry(users), stores });
  return {
    url: server.url,
    users,
    stores,
    server,
    close: () => server.close(),
  };
}
