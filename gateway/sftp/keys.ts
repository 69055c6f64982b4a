/**
 * SSH keys for the SFTP front end: the host key (generated once, persisted with mode 0600) and
 * the `--authorized-keys FILE` format:
 *
 *   # comment
 *   ACCESS_KEY ssh-ed25519 AAAAC3Nza… optional comment
 *   ACCESS_KEY ssh-rsa AAAAB3Nza…
 *
 * one public key per line, prefixed by the access key it logs in as (a key may appear for one
 * user only; a later line for the same key is ignored). Keys listed in the user registry
 * (`User.authorizedKeys`) are accepted as well.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';

type ParsedKey = ssh2.ParsedKey;

export async function loadOrCreateHostKey(file: string): Promise<Buffer> {
  try {
    const existing = await readFile(file);
    if (ssh2.utils.parseKey(existing) instanceof Error) {
      throw new Error(`SFTP host key ${file} cannot be parsed (an unencrypted OpenSSH or PEM key is needed); move it away to have a new one generated`);
    }
    return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const pair = generateHostKey();
  await mkdir(dirname(file), { recursive: true });
  // 'wx': if another process created it meanwhile, keep theirs rather than overwrite a host key.
  await writeFile(file, pair.private, { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  await writeFile(`${file}.pub`, `${pair.public}\n`, { mode: 0o644 }).catch(() => undefined);
  return readFile(file);
}

/**
 * ssh2 1.17's generateKeyPairSync('ed25519') strips leading zero bytes from the public key, so
 * about 1 key in 256 cannot be parsed back (mscdex/ssh2#1390, #1513) and the server would never
 * start with it. Draw again until both halves parse.
 */
function generateHostKey(): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error)) return pair;
  }
}

export interface AuthorizedKey {
  accessKey: string;
  key: ParsedKey;
}

function parseOne(text: string): ParsedKey | undefined {
  const k = ssh2.utils.parseKey(text);
  if (k instanceof Error) return undefined;
  return Array.isArray(k) ? k[0] : k;
}

/** Parses the authorized-keys file; malformed lines are skipped and reported by line number. */
export function parseAuthorizedKeys(text: string): { keys: AuthorizedKey[]; badLines: number[] } {
  const keys: AuthorizedKey[] = [];
  const badLines: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\S+)\s+(\S+\s+\S+)(?:\s.*)?$/.exec(line);
    const key = m ? parseOne(m[2]) : undefined;
    if (!m || !key) {
      badLines.push(i + 1);
      return;
    }
    keys.push({ accessKey: m[1], key });
  });
  return { keys, badLines };
}

export function parsePublicKey(line: string): ParsedKey | undefined {
  return parseOne(line.trim());
}
