/**
 * WebAssembly rolling kernel, assembled at load time from the opcodes below (no toolchain, no
 * binary blob in the repository: this file is the source). It computes four positions per loop
 * turn: the loop-carried chain jumps four bytes with the MOD4 tables, and the three positions in
 * between hang off it (see tables.ts for the algebra). About twice the plain JS kernel's speed.
 *
 * One instance per thread is shared by all chunkers: roll() is synchronous, so it copies the
 * calling chunker's tables into the instance's memory when another chunker used it last.
 */
import type { RollingKernel } from './kernel.js';
import { TABLE_ENTRIES, T_MOD1, T_MOD4, T_OUT, T_SUB } from './tables.js';
import { WINDOW_SIZE } from './params.js';

/** memory layout: tables at 0, then the staged window (64 bytes) and a block of input */
const STAGE = 16384;
const BLOCK = 1 << 20;
const PAGES = Math.ceil((STAGE + BLOCK) / 65536);

// ---- a minimal assembler: just the opcodes this function uses --------------------------------
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const I32 = 0x7f;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const gset = (i: number) => [0x24, ...uleb(i)];
/** i32.load with alignment hint 4 and a constant byte offset */
const load = (offset: number) => [0x28, 2, ...uleb(offset)];
const load8 = (offset: number) => [0x2d, 0, ...uleb(offset)];
const c = (v: number) => [0x41, ...sleb(v | 0)];
const ltu = [0x49];
const select = [0x1b];
const geu = [0x4f];
const gtu = [0x4b];
const add = [0x6a];
const sub = [0x6b];
const and = [0x71];
const or = [0x72];
const xor = [0x73];
const shl = [0x74];
const shru = [0x76];
const block = [0x02, 0x40];
const loop = [0x03, 0x40];
const ifThen = [0x04, 0x40];
const end = [0x0b];
const br = (depth: number) => [0x0c, ...uleb(depth)];
const brIf = (depth: number) => [0x0d, ...uleb(depth)];
const ret = [0x0f];
const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'latin1')];

// locals of roll(p, end, h, thr): params 0..3, then scratch
const P = 0, END = 1, H = 2, THR = 3;
const NW = 4, OW = 5, S1 = 6, S2 = 7, S3 = 8, S4 = 9, H1 = 10, H2 = 11, H3 = 12, H4 = 13;
const M = 14, M2 = 15;
const SCRATCH_LOCALS = 12;

/** byte k of a local, times 4 (a table index in bytes) */
const byteX4 = (local: number, k: number): number[] =>
  k === 0 ? [...get(local), ...c(2), ...shl, ...c(0x3fc), ...and] : [...get(local), ...c(8 * k - 2), ...shru, ...c(0x3fc), ...and];
/** table[byte k of local] */
const lookup = (tableStart: number, local: number, k: number) => [...byteX4(local, k), ...load(tableStart * 4)];
/** one byte step off h: dst = (S(b) ^ OUT0[o]) ^ (src << 8) ^ MOD1[src >>> 24] */
const step = (dst: number, src: number, s: number, k: number) => [
  ...get(s), ...lookup(T_OUT, OW, k), ...xor,
  ...get(src), ...c(8), ...shl, ...xor,
  ...lookup(T_MOD1, src, 3), ...xor,
  ...set(dst),
];
/** min_u(a, b), leaving the result on the stack: select(a, b, a <u b) */
const minU = (a: number, b: number) => [...get(a), ...get(b), ...get(a), ...get(b), ...ltu, ...select];
const below = (local: number) => [...get(local), ...get(THR), ...ltu];
const found = (local: number, delta: number) => [...get(local), ...gset(0), ...get(P), ...c(delta), ...add, ...ret];

const body = [
  // ---- four bytes per turn
  ...block, ...loop,
  ...get(P), ...c(4), ...add, ...get(END), ...gtu, ...brIf(1),
  ...get(P), ...load(0), ...set(NW),
  ...get(P), ...c(WINDOW_SIZE), ...sub, ...load(0), ...set(OW),
  ...lookup(T_SUB, NW, 0), ...set(S1),
  ...lookup(T_SUB, NW, 1), ...set(S2),
  ...lookup(T_SUB, NW, 2), ...set(S3),
  ...lookup(T_SUB, NW, 3), ...set(S4),
  ...step(H1, H, S1, 0),
  ...step(H2, H1, S2, 1),
  ...step(H3, H2, S3, 2),
  // data-only terms first, so the chain through H is only loads + three xors
  ...get(S1), ...c(24), ...shl, ...get(S2), ...c(16), ...shl, ...or, ...get(S3), ...c(8), ...shl, ...or, ...get(S4), ...or,
  ...lookup(T_OUT + 768, OW, 0), ...xor, ...lookup(T_OUT + 512, OW, 1), ...lookup(T_OUT + 256, OW, 2), ...xor, ...xor,
  ...lookup(T_OUT, OW, 3), ...xor,
  ...lookup(T_MOD4 + 768, H, 3), ...lookup(T_MOD4 + 512, H, 2), ...xor,
  ...lookup(T_MOD4 + 256, H, 1), ...lookup(T_MOD4, H, 0), ...xor, ...xor,
  ...xor, ...set(H4),
  // any of the four below the threshold? their unsigned minimum is (3 cmov instead of 4 setcc + or)
  ...minU(H1, H2), ...set(M2), ...minU(H3, H4), ...set(M), ...minU(M2, M),
  ...get(THR), ...ltu,
  ...ifThen,
  ...below(H1), ...ifThen, ...found(H1, 0), ...end,
  ...below(H2), ...ifThen, ...found(H2, 1), ...end,
  ...below(H3), ...ifThen, ...found(H3, 2), ...end,
  ...found(H4, 3),
  ...end,
  ...get(H4), ...set(H),
  ...get(P), ...c(4), ...add, ...set(P),
  ...br(0),
  ...end, ...end,
  // ---- the last 0..3 bytes, one at a time
  ...block, ...loop,
  ...get(P), ...get(END), ...geu, ...brIf(1),
  ...get(P), ...load8(0), ...c(2), ...shl, ...load(T_SUB * 4),
  ...get(P), ...c(WINDOW_SIZE), ...sub, ...load8(0), ...c(2), ...shl, ...load(T_OUT * 4), ...xor,
  ...get(H), ...c(8), ...shl, ...xor,
  ...lookup(T_MOD1, H, 3), ...xor,
  ...set(H),
  ...below(H), ...ifThen, ...found(H, 0), ...end,
  ...get(P), ...c(1), ...add, ...set(P),
  ...br(0),
  ...end, ...end,
  ...get(H), ...gset(0), ...c(-1),
  ...end,
];

function assemble(): Uint8Array {
  const func = [...vec([[SCRATCH_LOCALS, I32]]), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([[I32]])]])), // type (i32 x4) -> i32
    ...section(3, vec([[0]])), // one function of type 0
    ...section(5, vec([[0x00, ...uleb(PAGES)]])), // memory, fixed size
    ...section(6, vec([[I32, 0x01, ...c(0), ...end]])), // mutable global h
    ...section(7, vec([[...name('roll'), 0x00, 0], [...name('mem'), 0x02, 0], [...name('h'), 0x03, 0]])),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

/** The part of the WebAssembly JS API used here (its types live in lib.dom, which tsconfig omits). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

interface Instance {
  roll(p: number, end: number, h: number, thr: number): number;
  h: { value: number };
  mem8: Uint8Array;
  tables: Int32Array;
  owner: Int32Array | undefined;
}

let shared: Instance | null | undefined;

function instance(): Instance | null {
  if (shared !== undefined) return shared;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  try {
    if (!wasm) throw new Error('no WebAssembly');
    const inst = new wasm.Instance(new wasm.Module(assemble()), {});
    const mem = inst.exports.mem as { buffer: ArrayBuffer };
    shared = {
      roll: inst.exports.roll as Instance['roll'],
      h: inst.exports.h as Instance['h'],
      mem8: new Uint8Array(mem.buffer),
      tables: new Int32Array(mem.buffer, 0, TABLE_ENTRIES),
      owner: undefined,
    };
  } catch {
    // WebAssembly is missing (node --jitless) or refused: callers fall back to the JS kernel
    shared = null;
  }
  return shared;
}

/** The WASM kernel for `table`, or undefined when WebAssembly cannot be used here. */
export function createWasmKernel(table: Int32Array): RollingKernel | undefined {
  const w = instance();
  if (!w) return undefined;
  let last = 0;
  return {
    kind: 'wasm',
    get h() {
      return last;
    },
    roll(buf: Uint8Array, from: number, to: number, h: number, threshold: number): number {
      if (w.owner !== table) {
        w.tables.set(table);
        w.owner = table;
      }
      const thr = threshold | 0;
      for (let start = from; start < to; start += BLOCK) {
        const len = Math.min(BLOCK, to - start);
        w.mem8.set(buf.subarray(start - WINDOW_SIZE, start + len), STAGE - WINDOW_SIZE);
        const r = w.roll(STAGE, STAGE + len, h, thr);
        h = w.h.value;
        if (r >= 0) {
          last = h;
          return start + (r - STAGE);
        }
      }
      last = h;
      return -1;
    },
  };
}
