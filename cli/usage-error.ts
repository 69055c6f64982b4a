/**
 * A mistake in how the command was called (unknown flag, bad value, missing volume): main prints
 * `peerstor: <message>` as ONE line on stderr and exits with status 2. The message starts with the
 * flag it is about (`--listen: …`) whenever there is one.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `--name` for a flag name, for messages. */
export function flagLabel(name: string): string {
  return `--${name}`;
}
