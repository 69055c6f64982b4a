/**
 * WebAssembly rolling kernel, assembled at load time from the opcodes below (no toolchain, no
 * binary blob in the repository: this file is the source). Two functions:
 * - lanes() scans a block of LANE_BLOCK bytes as LANES independent chains (the fingerprint depends
 *   only on the window, so each lane can start anywhere); the wrapper sends every whole block of a
 *   range through it. 1.7–2× roll()'s speed, 3.5× the plain JS kernel's (the `roll …` lines of
 *   bench/chunker.bench.ts).
 * - roll() scans what is left one chain at a time, four positions per loop turn: the loop-carried
 *   chain jumps four bytes with the MOD4 tables, and the three positions in between hang off it
 *   (see tables.ts for the algebra).
 * lanes() needs WebAssembly SIMD (Node ≥ 16.4); an engine that refuses it gets a module with roll()
 * alone. Without WebAssembly at all (node --jitless) createWasmKernel returns undefined and the
 * chunker uses the JS kernel.
 *
 * One instance per thread is shared by all chunkers: roll() is synchronous, so it copies the
 * calling chunker's tables into the instance's memory when another chunker used it last.
 */
import type { RollingKernel } from './kernel.js';
import { TABLE_ENTRIES, T_MOD1, T_MOD4, T_OUT, T_SUB } from './tables.js';
import { WINDOW_SIZE } from './params.js';

/** bytes per lane of lanes(); one call scans LANE_BLOCK bytes (exported for tests, which put cuts
 *  in each lane and on the lanes' edges). A block costs a few hundred bytes' worth of priming and
 *  setup; the last one of a range scans all lanes to their end even when the cut is early in lane
 *  1.., about LANE/2 turns lost per cut: small against a chunk's ≥ 48 KiB. */
export const LANE = 8192;
/** independent chains in lanes() */
export const LANES = 6;
export const LANE_BLOCK = LANES * LANE;
/** memory layout: tables at 0; the staged window (64 bytes) and a block of input at STAGE;
 *  lanes()' table offsets of that block's bytes at IDX */
const STAGE = 16384;
const IDX = STAGE + LANE_BLOCK + 4096;
const PAGES = Math.ceil((IDX + 4 * LANE_BLOCK) / 65536);

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
const tee = (i: number) => [0x22, ...uleb(i)];
const gset = (i: number) => [0x24, ...uleb(i)];
/** i32.load with alignment hint 4 and a constant byte offset */
const load = (offset: number) => [0x28, 2, ...uleb(offset)];
const load8 = (offset: number) => [0x2d, 0, ...uleb(offset)];
const load16 = (offset: number) => [0x2f, 1, ...uleb(offset)];
const c = (v: number) => [0x41, ...sleb(v | 0)];
const ne = [0x47];
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

// ---- lanes(h, thr): LANES independent chains over the block at [STAGE, STAGE + LANE_BLOCK) -------
// The fingerprint depends only on the 64-byte window, so the block is cut into LANES contiguous
// lanes of LANE bytes, stepped together one byte each per turn: independent dependency chains keep
// the core busy where one chain (even the MOD4 jump above) waits on its own table loads (a step is
// shift, mask, load, xor: about 8 cycles of latency).
// Lane 0 continues from h; lanes 1.. are primed over the 64 bytes before their start from an
// empty window (h = 0, no OUT term: S(zeroByte) = 0, so that is exactly the window's fingerprint).
// The first cut of the block is the lowest lane's first hit: a hit in lane j retires lanes >= j
// (ACTIVE = j; their later hits are behind it) while the lanes below keep going, since any hit of
// theirs comes first; a hit in lane 0 is the answer at once.
//
// With several chains the loop is bound by both latency and issue width, so it is shaped to issue
// few instructions (13 per lane and byte, no spills; check with node --print-wasm-code after any
// change, in the lanes function's TurboFan code):
// - a SIMD pass first writes, for each byte i of the block, the table offsets o*4 and b*4 of its
//   outgoing and incoming bytes as two u16 at IDX + 4i (wasm has no scaled addressing, so this
//   saves a shift and a byte load per lookup in the loop);
// - the block sits at a fixed address, so the loop's pointer is compared with a constant;
// - what only a hit touches (the best hit so far, the lanes still racing) lives in globals, so the
//   loop keeps the chains and the pointer in registers;
// - two bytes per turn, so the loop's stack check and back edge are paid half as often.
// Measured on the build machine (Zen 4), per MiB hashed: 4 lanes 1.19 CPU ms, 6 lanes 1.12, 8
// lanes 1.30 (x64 runs out of registers and TurboFan spills). Tried and slower: a 65536-entry table
// of SUB[b] ^ OUT0[o] (two instructions less, but its 256 KiB miss L1: +10 %); keeping h rotated
// to save the mask (one instruction less, one cycle more on the chain: +8 %).

// locals of lanes(h0, thr): params 0..1, then scratch (i32), then v128
const LH0 = 0, LTHR = 1;
/** the h local of each lane (lane 0's is the parameter) */
const laneH = [LH0, ...Array.from({ length: LANES - 1 }, (_, j) => 2 + j)];
const R = LANES + 1, Q = LANES + 2, W = LANES + 3;
const LANES_I32_LOCALS = LANES + 2;
const VO = W + 1, VB = W + 2, VLO = W + 3, VHI = W + 4;
const LANES_V128_LOCALS = 4;
const V128 = 0x7b;
const G_BEST = 1, G_BESTH = 2, G_ACTIVE = 3;
const gget = (i: number) => [0x23, ...uleb(i)];
// SIMD opcodes (0xfd prefix); memarg alignment 2^4
const simd = (op: number) => [0xfd, ...uleb(op)];
const v128Load = (offset: number) => [...simd(0x00), 4, ...uleb(offset)];
const v128Store = (offset: number) => [...simd(0x0b), 4, ...uleb(offset)];
const shuffle = (lanes: number[]) => [...simd(0x0d), ...lanes];
/** i16x8.extend_low_i8x16_u / extend_high_i8x16_u / i16x8.shl */
const widenLow = simd(0x89);
const widenHigh = simd(0x8a);
const shl16 = simd(0x8b);
/** bytes o0 b0 o1 b1 … of positions 0..7 (then 8..15) from the vectors (o, b) */
const PAIR_LO = Array.from({ length: 16 }, (_, k) => (k & 1 ? 16 : 0) + (k >> 1));
const PAIR_HI = PAIR_LO.map((v) => v + 8);

/** 16 positions: o at Q, b at Q + 64, written as u16 pairs (o*4, b*4) at W */
const pairTurn = [
  ...get(Q), ...v128Load(0), ...set(VO),
  ...get(Q), ...v128Load(WINDOW_SIZE), ...set(VB),
  ...get(VO), ...get(VB), ...shuffle(PAIR_LO), ...set(VLO),
  ...get(VO), ...get(VB), ...shuffle(PAIR_HI), ...set(VHI),
  ...[VLO, VHI].flatMap((v, k) => [
    ...get(W), ...get(v), ...widenLow, ...c(2), ...shl16, ...v128Store(32 * k),
    ...get(W), ...get(v), ...widenHigh, ...c(2), ...shl16, ...v128Store(32 * k + 16),
  ]),
];
/** priming lane j: the byte at Q + j*LANE comes in, an empty-window byte (S = 0, OUT = 0) leaves */
const prime = (j: number) => [
  ...get(Q), ...load8(j * LANE), ...c(2), ...shl, ...load(T_SUB * 4),
  ...get(laneH[j]), ...c(8), ...shl, ...xor, ...lookup(T_MOD1, laneH[j], 3), ...xor, ...set(laneH[j]),
];
/** lane j takes in its byte i, where R = IDX + 4i */
const laneStep = (j: number) => [
  ...get(R), ...load16(4 * j * LANE), ...load(T_OUT * 4),
  ...get(R), ...load16(4 * j * LANE + 2), ...load(T_SUB * 4), ...xor,
  ...get(laneH[j]), ...c(8), ...shl, ...xor, ...lookup(T_MOD1, laneH[j], 3), ...xor, ...set(laneH[j]),
];
/** the stream address of lane j's byte i (R = IDX + 4i) */
const position = (j: number) => [...get(R), ...c(IDX), ...sub, ...c(2), ...shru, ...c(STAGE + j * LANE), ...add];
/** lane j's byte at R hit: lane 0's is the answer; a lane still racing (j < ACTIVE) is the best so far */
const laneHit = (j: number) =>
  j === 0
    ? [...get(LH0), ...gset(0), ...position(0), ...ret]
    : [
      ...gget(G_ACTIVE), ...c(j), ...gtu, ...ifThen,
      ...c(j), ...gset(G_ACTIVE),
      ...position(j), ...gset(G_BEST),
      ...get(laneH[j]), ...gset(G_BESTH),
      ...end,
    ];

/** every lane takes in its byte at R; a hit in lane j > 0 branches to the enclosing block j */
const lanesRound = [
  ...laneStep(0), ...get(LH0), ...get(LTHR), ...ltu, ...ifThen, ...laneHit(0), ...end,
  ...laneH.slice(1).flatMap((h, i) => [...laneStep(i + 1), ...get(h), ...get(LTHR), ...ltu, ...brIf(i + 1)]),
];
/** lanes 1.. as indexes */
const upperLanes = laneH.slice(1).map((_, i) => i + 1);

const lanesBody = [
  // the table offsets of the whole block
  ...c(STAGE - WINDOW_SIZE), ...set(Q), ...c(IDX), ...set(W),
  ...loop,
  ...pairTurn,
  ...get(W), ...c(64), ...add, ...set(W),
  ...get(Q), ...c(16), ...add, ...tee(Q), ...c(STAGE - WINDOW_SIZE + LANE_BLOCK), ...ltu, ...brIf(0),
  ...end,
  // lanes 1.. take in the 64 bytes before their start
  ...upperLanes.flatMap((j) => [...c(0), ...set(laneH[j])]),
  ...c(STAGE - WINDOW_SIZE), ...set(Q),
  ...loop,
  ...upperLanes.flatMap(prime),
  ...get(Q), ...c(1), ...add, ...tee(Q), ...c(STAGE), ...ltu, ...brIf(0),
  ...end,
  ...c(IDX), ...set(R),
  ...c(-1), ...gset(G_BEST), ...c(LANES), ...gset(G_ACTIVE),
  // the hot loop: each lane's step, then its own test (a branch per lane, not a minimum of all
  // lanes: a compare-and-branch is one fused op, and it pins the lane's xors before the next lane's
  // loads, which keeps the live values in registers). A hit in lane 0 returns from inside; a hit
  // in lane j > 0 leaves the loop (so the loop has no join to carry), is recorded, and the loop
  // resumes at the next byte: lanes above j did not take this byte in, but they are out of the
  // race now either way (ACTIVE <= j), so their h no longer matters.
  // blocks: done, the outer loop, next, one per upper lane (lane LANES-1 outermost), inner loop
  ...block, ...loop, ...block, ...upperLanes.flatMap(() => block),
  ...loop,
  ...lanesRound,
  ...get(R), ...c(4), ...add, ...tee(R), ...c(IDX + 4 * LANE), ...geu, ...brIf(LANES + 2),
  ...lanesRound,
  ...get(R), ...c(4), ...add, ...tee(R), ...c(IDX + 4 * LANE), ...ltu, ...brIf(0),
  ...br(LANES + 2),
  ...end,
  // the end of lane j's block: its handler, then on to `next`
  ...upperLanes.flatMap((j) => [...end, ...laneHit(j), ...(j < LANES - 1 ? br(LANES - 1 - j) : [])]),
  ...end,
  ...get(R), ...c(4), ...add, ...tee(R), ...c(IDX + 4 * LANE), ...ltu, ...brIf(0),
  ...end, ...end,
  ...gget(G_BEST), ...c(-1), ...ne, ...ifThen,
  ...gget(G_BESTH), ...gset(0), ...gget(G_BEST), ...ret,
  ...end,
  ...get(laneH[LANES - 1]), ...gset(0), ...c(-1),
  ...end,
];

/** The module; without `withLanes` just roll() (no SIMD needed, for engines that refuse it). */
function assemble(withLanes: boolean): Uint8Array {
  const func = [...vec([[SCRATCH_LOCALS, I32]]), ...body];
  const lanesFunc = [...vec([[LANES_I32_LOCALS, I32], [LANES_V128_LOCALS, V128]]), ...lanesBody];
  const lanes = <T>(...items: T[]): T[] => (withLanes ? items : []);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([
      [0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([[I32]])], // 0: (i32 x4) -> i32
      [0x60, ...vec([[I32], [I32]]), ...vec([[I32]])], // 1: (i32 x2) -> i32
    ])),
    ...section(3, vec([[0], ...lanes([1])])), // roll: type 0, lanes: type 1
    ...section(5, vec([[0x00, ...uleb(PAGES)]])), // memory, fixed size
    // mutable globals: h (exported), then lanes()' best hit, its h, and the lanes still racing
    ...section(6, vec([0, 1, 2, 3].map(() => [I32, 0x01, ...c(0), ...end]))),
    ...section(7, vec([
      [...name('roll'), 0x00, 0], ...lanes([...name('lanes'), 0x00, 1]), [...name('mem'), 0x02, 0], [...name('h'), 0x03, 0],
    ])),
    ...section(10, vec([[...uleb(func.length), ...func], ...lanes([...uleb(lanesFunc.length), ...lanesFunc])])),
  ]);
}

/** The part of the WebAssembly JS API used here (its types live in lib.dom, which tsconfig omits). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

interface Instance {
  roll(p: number, end: number, h: number, thr: number): number;
  /** absent where the engine refused the SIMD pass */
  lanes: ((h: number, thr: number) => number) | undefined;
  h: { value: number };
  mem8: Uint8Array;
  tables: Int32Array;
  owner: Int32Array | undefined;
}

let shared: Instance | null | undefined;

function instance(): Instance | null {
  if (shared !== undefined) return shared;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  const compile = (withLanes: boolean) => new wasm!.Instance(new wasm!.Module(assemble(withLanes)), {});
  try {
    if (!wasm) throw new Error('no WebAssembly');
    let inst;
    try {
      inst = compile(true);
    } catch {
      // an engine without WebAssembly SIMD: one chain at a time is still twice the JS kernel
      inst = compile(false);
    }
    const mem = inst.exports.mem as { buffer: ArrayBuffer };
    shared = {
      roll: inst.exports.roll as Instance['roll'],
      lanes: inst.exports.lanes as Instance['lanes'] | undefined,
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

export interface WasmKernelInit {
  /** false: never use lanes(), one chain at a time (the bench's reference for what lanes gain) */
  lanes?: boolean;
}

/** The WASM kernel for `table`, or undefined when WebAssembly cannot be used here. */
export function createWasmKernel(table: Int32Array, init: WasmKernelInit = {}): RollingKernel | undefined {
  const w = instance();
  if (!w) return undefined;
  const lanes = init.lanes === false ? undefined : w.lanes;
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
      // a lane block at a time (each copied to STAGE: see lanes()), the rest through roll()
      for (let start = from; start < to; ) {
        const len = Math.min(LANE_BLOCK, to - start);
        w.mem8.set(buf.subarray(start - WINDOW_SIZE, start + len), STAGE - WINDOW_SIZE);
        const r = len === LANE_BLOCK && lanes ? lanes(h, thr) : w.roll(STAGE, STAGE + len, h, thr);
        h = w.h.value;
        if (r >= 0) {
          last = h;
          return start + (r - STAGE);
        }
        start += len;
      }
      last = h;
      return -1;
    },
  };
}
