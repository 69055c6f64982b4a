/**
 * Where the users come from: `--user AK:SK` (repeatable) and `--credentials FILE`; with neither,
 * the first start generates one key pair, stores it in the state directory with mode 0600 and
 * hands it back as `generated` so the caller prints it once. Later starts reuse the stored pair.
 *
 * Credentials file format (also the format of the generated file):
 *
 *     # comment lines and blank lines are ignored
 *     ACCESS_KEY:SECRET_KEY
 *
 * One user per line; the access key is everything before the first ':', the secret everything
 * after it (surrounding spaces trimmed). Access keys: 3–128 of A-Z a-z 0-9 . _ ~ + = -; secrets ≥ 8
 * characters (UserRegistry's rules). A duplicated access key is an error.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserRegistry, type User } from './users.js';

export interface CredentialsInit {
  /** `AK:SK` strings from `--user` */
  users?: string[];
  /** path given with `--credentials` */
  credentialsFile?: string;
  /** where a generated pair is kept (e.g. the first volume's state dir) */
  stateDir: string;
}

export const GENERATED_CREDENTIALS_FILE = 'credentials';

export function parseUserPair(text: string, where = '--user'): User {
  const i = text.indexOf(':');
  if (i <= 0 || i === text.length - 1) throw new RangeError(`${where}: expected ACCESS_KEY:SECRET_KEY, got "${text.replace(/:.*/, ':…')}"`);
  const user: User = { accessKey: text.slice(0, i).trim(), secretKey: text.slice(i + 1).trim() };
  try {
    // UserRegistry applies the character and length rules and says what is wrong.
    new UserRegistry([user]);
  } catch (err) {
    throw new RangeError(`${where}: ${(err as Error).message}`);
  }
  return user;
}

export function parseCredentialsFile(text: string, path = 'credentials file'): User[] {
  const users: User[] = [];
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    users.push(parseUserPair(line, `${path}:${n + 1}`));
  });
  return users;
}

export function formatCredentialsFile(users: User[]): string {
  return `# PeerStor users, one ACCESS_KEY:SECRET_KEY per line\n${users.map((u) => `${u.accessKey}:${u.secretKey}`).join('\n')}\n`;
}

/** A fresh key pair in AWS's shape: 20-character upper-case access key, 40-character secret. */
export function generateUser(): User {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(18);
  let accessKey = 'PS';
  for (let i = 0; i < 18; i++) accessKey += alphabet[bytes[i] & 31];
  const secretKey = randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
  return { accessKey, secretKey };
}

function dedupe(users: User[]): User[] {
  const seen = new Set<string>();
  for (const u of users) {
    if (seen.has(u.accessKey)) throw new RangeError(`access key "${u.accessKey}" is given more than once`);
    seen.add(u.accessKey);
  }
  return users;
}

export async function loadOrCreateUsers(init: CredentialsInit): Promise<{ users: User[]; generated?: User }> {
  const users: User[] = (init.users ?? []).map((u) => parseUserPair(u));
  if (init.credentialsFile !== undefined) {
    users.push(...parseCredentialsFile(await readFile(init.credentialsFile, 'utf8'), init.credentialsFile));
  }
  if (users.length > 0) return { users: dedupe(users) };

  const path = join(init.stateDir, GENERATED_CREDENTIALS_FILE);
  let existing: string | undefined;
  try {
    existing = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing !== undefined) {
    const stored = parseCredentialsFile(existing, path);
    if (stored.length > 0) return { users: dedupe(stored) };
  }
  const generated = generateUser();
  await mkdir(init.stateDir, { recursive: true });
  // 'wx' never overwrites a file another process created meanwhile; mode applies on creation.
  await writeFile(path, formatCredentialsFile([generated]), { mode: 0o600, flag: existing === undefined ? 'wx' : 'w' });
  await chmod(path, 0o600);
  return { users: [generated], generated };
}
