/**
 * A libp2p private-network connection protector, wire-compatible with @libp2p/pnet 3.x (and so
 * with go-libp2p's pnet): each side sends a random 24-byte nonce, then every byte in each
 * direction is XORed with the XSalsa20 keystream of (PSK, sender's nonce). A node without the key
 * gets garbage after the nonces, so its noise handshake fails before it learns anything.
 *
 * Why not @libp2p/pnet itself: its cipher, the `xsalsa20` npm package, keeps every cipher's state
 * in ONE WebAssembly memory per process and frees a slot only on finalize(), which pnet never
 * calls. Every connection attempt (keyed or not: the nonces come before any key check) leaks two
 * slots per end; past ~10,240 slots the memory grows, older ciphers' views detach, their next
 * update grows it again to the 1000-page cap, and the RangeError thrown inside a socket listener
 * kills the process. Anyone who can reach the DHT port could do that on purpose
 * (bench/dht/pnet-exhaust.ts). Here the keystream comes from @noble/ciphers (pure JS, stateless
 * functions); each connection's cipher state is a few small arrays owned by the connection object,
 * so it is garbage with the connection and nothing grows per process.
 *
 * Contract:
 * - `protect()` resolves with a MultiaddrConnection that encrypts what is sent and decrypts what
 *   arrives; it rejects when the nonce exchange fails or the signal fires (default: 1 s, pnet's).
 *   The caller (libp2p's upgrader) owns both connections and closes the one it was given when
 *   protect() rejects; the returned one closes the wrapped one when it closes.
 * - A connection never throws from a socket listener: a cipher failure (only the 2^32-block
 *   keystream limit, 256 GiB in one direction, which pnet's 64-bit counter would pass) aborts
 *   that connection alone.
 *
 * The protector's structure (nonce exchange through byteStream, the wrapping MultiaddrConnection
 * and its event forwarding) is adapted from @libp2p/pnet 3.0.27 (src/index.ts, src/crypto.ts),
 * Copyright (c) Protocol Labs, Inc., dual-licensed Apache-2.0 OR MIT, used here under MIT:
 * Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 * and associated documentation files (the "Software"), to deal in the Software without
 * restriction, including without limitation the rights to use, copy, modify, merge, publish,
 * distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
 * Software is furnished to do so, subject to the following conditions: The above copyright notice
 * and this permission notice shall be included in all copies or substantial portions of the
 * Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
 */
import './polyfills.js';
import { hsalsa, salsa20 } from '@noble/ciphers/salsa.js';
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils';
import type { AbortOptions, ConnectionProtector, MultiaddrConnection } from '@libp2p/interface';
import { StoreError } from '../core/errors.js';

/** bytes of each side's nonce, sent in clear at the start of the connection */
export const NONCE_LENGTH = 24;
/** bytes of the pre-shared key */
export const KEY_LENGTH = 32;
/** the first line of a V1 swarm key file */
export const SWARM_KEY_TAG = '/key/swarm/psk/1.0.0/';

const BLOCK = 64;
/**
 * Keystream made ahead, per direction: a noble call costs ~2.5 µs before its first block (~0.3 µs
 * a block after), and DHT messages are a few hundred bytes, so small messages take their bytes
 * from 16 blocks made in one call (200-byte messages: 15 → 81 MiB/s, bench/pnet.bench.ts).
 */
const AHEAD_BLOCKS = 16;
const AHEAD = AHEAD_BLOCKS * BLOCK;
/** noble's Salsa20 uses the low 32 bits of the block counter and refuses counter 2^32 − 1 */
const MAX_COUNTER = 2 ** 32 - 1;
const SIGMA = new TextEncoder().encode('expand 32-byte k');

function words(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/**
 * One direction's XSalsa20 keystream, applied across messages of any length: the bytes of a
 * message continue the keystream exactly where the previous message stopped, including inside a
 * 64-byte block, so any split of a byte stream yields the bytes one call over the whole stream
 * would (the `xsalsa20` package's `update()` behaviour, which pnet relies on).
 * Holds about 1.1 KiB (subkey, nonce, keystream made ahead); no global state.
 */
export class XSalsa20Stream {
  /** HSalsa20(key, nonce[0..16]): XSalsa20 is Salsa20 under this subkey and nonce[16..24] */
  readonly #subkey = new Uint8Array(32);
  readonly #nonce: Uint8Array;
  /** keystream of the AHEAD_BLOCKS blocks before #counter; bytes from #used on are not spent yet */
  readonly #ahead = new Uint8Array(AHEAD);
  #used = AHEAD;
  /** the next block to make */
  #counter = 0;

  constructor(key: Uint8Array, nonce: Uint8Array) {
    if (key.length !== KEY_LENGTH) throw new StoreError('InvalidArgument', `XSalsa20 key must be ${KEY_LENGTH} bytes, got ${key.length}`);
    if (nonce.length !== NONCE_LENGTH) throw new StoreError('InvalidArgument', `XSalsa20 nonce must be ${NONCE_LENGTH} bytes, got ${nonce.length}`);
    // fresh copies: Uint32Array views need 4-byte aligned offsets, and callers' buffers are not
    const k = Uint8Array.from(key);
    const n = Uint8Array.from(nonce.subarray(0, 16));
    // hsalsa takes the raw words of the byte strings (it byte-swaps on big-endian hosts itself)
    hsalsa(words(Uint8Array.from(SIGMA)), words(k), words(n), words(this.#subkey));
    k.fill(0);
    this.#nonce = nonce.slice(16, NONCE_LENGTH);
  }

  /** Bytes of keystream used so far (the stream position). */
  get position(): number {
    return this.#counter * BLOCK - (AHEAD - this.#used);
  }

  /**
   * XORs `input` with the next input.length bytes of keystream into a new array (input is left
   * alone). Throws StoreError 'Unavailable' once about 2^32 blocks (256 GiB) have been used.
   */
  update(input: Uint8Array): Uint8Array {
    const len = input.length;
    const ahead = this.#ahead;
    const lead = Math.min(len, AHEAD - this.#used);
    // Place the output so that what follows `lead` starts on a 4-byte boundary: noble XORs whole
    // 32-bit words only on aligned views, byte by byte otherwise (~2× slower). Small buffers come
    // from Node's pool, which is cheaper than an ArrayBuffer each.
    const buf = Buffer.allocUnsafe(len + 3);
    const shift = (4 - ((buf.byteOffset + lead) & 3)) & 3;
    const out = buf.subarray(shift, shift + len);
    out.set(input);
    let pos = 0;
    while (pos < lead) out[pos++] ^= ahead[this.#used++];
    // the keystream made ahead is spent if anything is left
    const blocks = Math.floor((len - pos) / BLOCK);
    if (len - pos >= AHEAD) {
      // bulk: whole blocks in place, in one call
      this.#reserve(blocks);
      const whole = out.subarray(pos, pos + blocks * BLOCK);
      salsa20(this.#subkey, this.#nonce, whole, whole, this.#counter);
      this.#counter += blocks;
      pos += blocks * BLOCK;
    }
    if (pos < len) {
      // fewer than AHEAD bytes left: make the next AHEAD bytes of keystream, keep what is unused
      this.#reserve(AHEAD_BLOCKS);
      ahead.fill(0);
      salsa20(this.#subkey, this.#nonce, ahead, ahead, this.#counter);
      this.#counter += AHEAD_BLOCKS;
      this.#used = 0;
      while (pos < len) out[pos++] ^= ahead[this.#used++];
    }
    return out;
  }

  #reserve(blocks: number): void {
    if (this.#counter + blocks > MAX_COUNTER) {
      throw new StoreError('Unavailable', 'private-network keystream exhausted (256 GiB in one direction): reconnect');
    }
  }
}

/**
 * The 32-byte key of a V1 swarm key file (`/key/swarm/psk/1.0.0/`, `/base16/`, 64 hex digits,
 * lines split by LF, CRLF or CR; the format @libp2p/pnet and go-libp2p read and identity.ts's
 * pskBytes() writes). Stricter than @libp2p/pnet, which ignores the first two lines: a file it
 * would read with another tag or encoding is refused here rather than misread.
 * Throws StoreError 'InvalidArgument'.
 */
export function decodeSwarmKey(psk: Uint8Array): Uint8Array {
  const [tag, codec, hex] = new TextDecoder().decode(psk).split(/\r\n|\r|\n/);
  if (tag !== SWARM_KEY_TAG || codec !== '/base16/' || hex === undefined || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new StoreError('InvalidArgument', `not a V1 swarm key: expected "${SWARM_KEY_TAG}", "/base16/" and 64 hex digits on three lines`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

type SendResult = ReturnType<AbstractMultiaddrConnection['sendData']>;
type SendData = Parameters<AbstractMultiaddrConnection['sendData']>[0];

interface PrivateConnectionInit {
  maConn: MultiaddrConnection;
  key: Uint8Array;
  localNonce: Uint8Array;
  remoteNonce: Uint8Array;
  log: MultiaddrConnection['log'];
}

/** The protected connection: a MultiaddrConnection over `maConn` (pnet's BoxMessageStream). */
class PrivateConnection extends AbstractMultiaddrConnection {
  readonly #maConn: MultiaddrConnection;
  readonly #inbound: XSalsa20Stream;
  readonly #outbound: XSalsa20Stream;

  constructor(init: PrivateConnectionInit) {
    super({ log: init.log, remoteAddr: init.maConn.remoteAddr, direction: init.maConn.direction });
    this.#maConn = init.maConn;
    this.#inbound = new XSalsa20Stream(init.key, init.remoteNonce);
    this.#outbound = new XSalsa20Stream(init.key, init.localNonce);

    this.#maConn.addEventListener('message', (evt) => {
      try {
        const data = evt.data;
        if (data instanceof Uint8Array) this.onData(this.#inbound.update(data));
        else for (const buf of data) this.onData(this.#inbound.update(buf));
      } catch (err) {
        this.abort(err as Error);
      }
    });
    // resume sending when the underlying connection can take more
    this.#maConn.addEventListener('drain', () => this.onMuxerDrain());
    this.#maConn.addEventListener('close', (evt) => {
      if (evt.error != null) {
        if (evt.local) this.abort(evt.error);
        else this.onRemoteReset();
      } else {
        this.onTransportClosed();
      }
    });
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    await this.#maConn.close(options);
  }

  sendData(data: SendData): SendResult {
    let sealed: Uint8Array;
    try {
      sealed = this.#outbound.update(data.subarray());
    } catch (err) {
      // abort drops the write buffer; reporting the bytes as sent ends this send loop quietly
      this.abort(err as Error);
      return { sentBytes: data.byteLength, canSendMore: false };
    }
    return { sentBytes: data.byteLength, canSendMore: this.#maConn.send(sealed) };
  }

  sendReset(err: Error): void {
    this.#maConn.abort(err);
  }

  sendPause(): void {
    this.#maConn.pause();
  }

  sendResume(): void {
    this.#maConn.resume();
  }
}

export interface PrivateNetworkInit {
  /** the swarm key file's bytes (see decodeSwarmKey; identity.ts's pskBytes() makes them) */
  psk: Uint8Array;
  /** ms the nonce exchange may take when protect() gets no signal; default 1000 (pnet's) */
  timeout?: number;
}

/** The ConnectionProtector itself; libp2p builds it through privateNetwork(). */
export class PrivateNetworkProtector implements ConnectionProtector {
  readonly #key: Uint8Array;
  readonly #timeout: number;

  constructor(init: PrivateNetworkInit) {
    this.#key = decodeSwarmKey(init.psk);
    this.#timeout = init.timeout ?? 1000;
  }

  readonly [Symbol.toStringTag] = 'peerstor/private-network';

  async protect(connection: MultiaddrConnection, options?: AbortOptions): Promise<MultiaddrConnection> {
    const log = connection.log.newScope('private-network');
    const localNonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
    const opts = options ?? { signal: AbortSignal.timeout(this.#timeout) };
    const bytes = byteStream(connection);
    const [remote] = await Promise.all([bytes.read({ bytes: NONCE_LENGTH, ...opts }), bytes.write(localNonce, opts)]);
    log('exchanged nonces');
    return new PrivateConnection({
      maConn: bytes.unwrap(),
      key: this.#key,
      localNonce,
      remoteNonce: remote.subarray(),
      log,
    });
  }
}

/**
 * `connectionProtector: privateNetwork({ psk })` in createLibp2p's options: a drop-in for
 * @libp2p/pnet's `preSharedKey({ psk })` (same argument, same wire format).
 */
export function privateNetwork(init: PrivateNetworkInit): () => ConnectionProtector {
  // decode once here, so a bad key file fails at start-up rather than at the first connection
  decodeSwarmKey(init.psk);
  return () => new PrivateNetworkProtector(init);
}
