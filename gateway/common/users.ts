/**
 * The one user list every front end shares. A user is an access key / secret key pair; each access
 * key is its own tenant. Secrets are compared in constant time.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { TenantUser } from '../../backend/core/object-store.js';

export interface User extends TenantUser {
  /** OpenSSH public keys (one per line in authorized_keys format) allowed for SFTP login */
  authorizedKeys?: string[];
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class UserRegistry {
  readonly #users = new Map<string, User>();

  constructor(users: User[] = []) {
    for (const u of users) this.add(u);
  }

  add(user: User): void {
    if (!/^[A-Za-z0-9._~+=-]{3,128}$/.test(user.accessKey)) {
      throw new RangeError(`invalid access key "${user.accessKey}": 3–128 characters of A-Z a-z 0-9 . _ ~ + = -`);
    }
    if (user.secretKey.length < 8) throw new RangeError(`secret key for "${user.accessKey}" is shorter than 8 characters`);
    this.#users.set(user.accessKey, user);
  }

  get(accessKey: string): User | undefined {
    return this.#users.get(accessKey);
  }

  /** Password-style login (WebDAV Basic, SFTP, FTP): the user when the secret matches, else undefined. */
  verify(accessKey: string, secretKey: string): User | undefined {
    const user = this.#users.get(accessKey);
    // Compare fixed-length digests so neither a missing user nor the secret's length shows in timing.
    const expected = digest(user?.secretKey ?? '\0no-such-user');
    const ok = timingSafeEqual(expected, digest(secretKey));
    return ok && user ? user : undefined;
  }

  all(): User[] {
    return [...this.#users.values()];
  }

  get size(): number {
    return this.#users.size;
  }
}
