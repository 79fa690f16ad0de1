/**
 * A minimal WebAssembly assembler: the encodings and opcodes the cpu backend's generated modules
 * (wasm-simd.ts, wasm-elementwise.ts) are written with, so each module reads as named instructions
 * rather than an opaque binary.
 */

/** Unsigned LEB128. */
export const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};

/** Signed LEB128. */
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
};

export const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
export const section = (id: number, bytes: number[]): number[] => [id, ...leb(bytes.length), ...bytes];
export const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));

export const I32 = 0x7f;
export const V128 = 0x7b;
export const op = {
  loop: 0x03,
  end: 0x0b,
  drop: 0x1a,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32Load: 0x28,
  f32Load: 0x2a,
  f32Store: 0x38,
  f32Add: 0x92,
  f64Store: 0x39,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  f64Add: 0xa0,
  f64Div: 0xa3,
  f64ConvertI32U: 0xb8,
  f64PromoteF32: 0xbb,
  f32DemoteF64: 0xb6,
  emptyBlock: 0x40,
};
/** SIMD opcodes (after the 0xfd prefix). */
export const simdOp = {
  v128Load: 0x00,
  v128Load32Splat: 0x09,
  v128Load64Splat: 0x0a,
  v128Store: 0x0b,
  v128Const: 0x0c,
  f32x4Ne: 0x42,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  f32x4Ge: 0x46,
  v128Not: 0x4d,
  v128And: 0x4e,
  /** a & ~b */
  v128AndNot: 0x4f,
  v128Or: 0x50,
  v128Bitselect: 0x52,
  f32x4Nearest: 0x6a,
  i32x4Shl: 0xab,
  f32x4Abs: 0xe0,
  f32x4Neg: 0xe1,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  /** b < a ? b : a (a NaN a kept, as JavaScript's comparisons do). */
  f32x4Pmin: 0xea,
  /** a < b ? b : a. */
  f32x4Pmax: 0xeb,
  i32x4TruncSatF32x4S: 0xf8,
  i8x16Shuffle: 0x0d,
  i32x4ExtractLane: 0x1b,
  f32x4ExtractLane: 0x1f,
  i32x4Splat: 0x11,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  f64x2PromoteLowF32x4: 0x5f,
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2Splat: 0x14,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f64x2ExtractLane: 0x21,
  f64x2Add: 0xf0,
  /** Relaxed SIMD: a * b + c, one fused instruction where the CPU has FMA (else rounded twice). */
  f32x4RelaxedMadd: 0x105,
};

/** Bulk memory's memory.fill on memory 0 (takes the address, the byte value and the byte count). */
export const MEMORY_FILL = [0xfc, ...leb(11), 0x00];

/** A v128.const of sixteen zero bytes (+0 in every lane). */
export const V128_ZERO = [0xfd, ...leb(simdOp.v128Const), ...Array<number>(16).fill(0)];

export const get = (i: number): number[] => [op.localGet, ...leb(i)];
export const set = (i: number): number[] => [op.localSet, ...leb(i)];
export const tee = (i: number): number[] => [op.localTee, ...leb(i)];
export const i32 = (n: number): number[] => [op.i32Const, ...sleb(n)];
/** A SIMD instruction with a memory operand: alignment as log2 bytes, then a constant offset. */
export const simdMem = (code: number, alignLog2: number, offset = 0): number[] => [0xfd, ...leb(code), ...leb(alignLog2), ...leb(offset)];
export const simd = (code: number): number[] => [0xfd, ...leb(code)];

/** A module's header: the magic number and version 1. */
export const MODULE_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** A function of a module: its exported name, its i32 parameters, its code (locals and body, ending with `end`). */
export interface ModuleFunction {
  name: string;
  params: number;
  code: number[];
}

/**
 * A module exporting `functions` (each taking i32 arguments and returning nothing) and its memory
 * `memory`: its own, of one page to start, or one imported as env.memory: another module's, or with
 * `sharedMaxPages` a shared one of up to that many pages (worker threads instantiate the module over
 * the same memory).
 */
export function functionsModule(functions: ModuleFunction[], imported?: { sharedMaxPages?: number }): Uint8Array<ArrayBuffer> {
  const sharedMaxPages = imported?.sharedMaxPages;
  // limits: 0x03 a maximum, shared; 0x00 a minimum only
  const limits = sharedMaxPages ? [0x03, ...leb(1), ...leb(sharedMaxPages)] : [0x00, ...leb(1)];
  const type = (params: number): number[] => [0x60, ...vec(Array.from({ length: params }, () => [I32])), ...vec([])];
  return new Uint8Array([
    ...MODULE_HEADER,
    // one type per function, in the functions' order
    ...section(1, vec(functions.map((f) => type(f.params)))),
    ...(imported ? section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])) : []),
    ...section(3, vec(functions.map((_, i) => [i]))),
    ...(imported ? [] : section(5, vec([[0x00, ...leb(1)]]))),
    ...section(7, vec([[...name('memory'), 0x02, 0], ...functions.map((f, i) => [...name(f.name), 0x00, i])])),
    ...section(10, vec(functions.map((f) => [...leb(f.code.length), ...f.code]))),
  ]);
}

/**
 * A module of one exported function `fn` taking `params` i32 arguments and returning nothing, with
 * `locals` (groups of [count, type]) and `body` (its instructions, without the final `end`), and
 * its own exported memory `memory` of one page to start, or (`importMemory`) another module's.
 */
export function oneFunctionModule(fn: string, params: number, locals: [number, number][], body: number[], importMemory = false): Uint8Array<ArrayBuffer> {
  const code = [...vec(locals.map(([count, type]) => [...leb(count), type])), ...body, op.end];
  return functionsModule([{ name: fn, params, code }], importMemory ? {} : undefined);
}

/** A one-function module's memory and function. */
export interface OneFunction<F> {
  memory: WebAssembly.Memory;
  fn: F;
}

/**
 * Instantiates a oneFunctionModule built by `build` (over `memory` where it imports one); null where
 * WebAssembly (or its SIMD) is missing or the module does not validate, and the caller keeps its
 * JavaScript path.
 */
export function instantiateOne<F>(build: () => Uint8Array<ArrayBuffer>, fn: string, memory?: WebAssembly.Memory): OneFunction<F> | null {
  const exports = instantiateModule<Record<string, unknown>>(build, memory);
  return exports ? { memory: exports.memory as WebAssembly.Memory, fn: exports[fn] as F } : null;
}

/**
 * Instantiates a module built by `build` (over `memory` where it imports one) and returns its
 * exports (its memory and functions by name); null where WebAssembly (or its SIMD) is missing or the
 * module does not validate, and the caller keeps its JavaScript path.
 */
export function instantiateModule<T>(build: () => Uint8Array<ArrayBuffer>, memory?: WebAssembly.Memory): T | null {
  if (typeof WebAssembly !== 'object') return null;
  try {
    const bytes = build();
    if (!WebAssembly.validate(bytes)) return null;
    return new WebAssembly.Instance(new WebAssembly.Module(bytes), memory ? { env: { memory } } : {}).exports as unknown as T;
  } catch {
    return null;
  }
}

/** instantiateModule once, on first use: the returned function gives the same exports (or null) every time. */
export function lazyModule<T>(build: () => Uint8Array<ArrayBuffer>): () => T | null {
  let exports: T | null | undefined;
  return () => (exports === undefined ? (exports = instantiateModule<T>(build)) : exports);
}

/** Grows `memory` to at least `bytes`; false when it cannot grow that far (the caller keeps its JavaScript path). */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): boolean {
  const needed = bytes - memory.buffer.byteLength;
  if (needed <= 0) return true;
  try {
    memory.grow(Math.ceil(needed / 65536));
    return true;
  } catch {
    return false;
  }
}
