import { ops } from '@graphc/graph';
import type { TensorValue } from '@graphc/graph';
import { PackedB, gemmPacked, packedColumns } from '../../gemm';
import { ModuleFunction, ensureMemory, functionsModule, get, i32, instantiateModule, op, set, simdMem, simdOp } from '../../wasm-assembler';
import { simdKernelsEnabled } from '../../wasm-elementwise';
import { Code, FunctionWriter, VectorActivation, add, clipped, f32x4, mul, sub, vectorActivation } from '../../wasm-vector-math';

/**
 * The float32 cells of lstm, gru and rnn on WebAssembly SIMD, four hidden units at a time: one
 * generated module per cell configuration (kind, hidden size, activations, clip, peepholes), its
 * memory holding one step's gate rows and the states. The step's GEMM writes h·R^T straight into
 * that memory and reads h from it; only the step's rows of X·W^T are copied in, and h copied out to
 * Y. The JavaScript cells (lstm.ts, gru.ts, rnn.ts) keep the states in float64 and call Math.exp
 * and Math.tanh; these keep float32 states, as onnxruntime does, and evaluate the activations with
 * wasm-vector-math's polynomials, so results differ from the JavaScript cells' in the last float32
 * bits. A hidden size that is not a multiple of 4, or an activation without a SIMD form (Softplus),
 * keeps the JavaScript cell.
 */

export type CellKind = 'lstm' | 'gru' | 'gruLinearBeforeReset' | 'rnn';

/** What an op's cell is, for its SIMD form. */
export interface SimdCellSpec {
  kind: CellKind;
  /** Each direction's activation slots (ops.rnnActivations). */
  activations: ops.RnnActivation[][];
  clip: number;
  /** lstm: the forget gate is 1 - the input gate (input_forget). */
  coupled?: boolean;
  /** lstm: P ([dirs, 3H]: i, o, f), when given. */
  peepholes?: TensorValue['data'];
  /** gru: B ([dirs, 6H]), whose R_h bias the candidate adds; absent: no bias. */
  bias?: TensorValue['data'];
}

/** A direction's cell over the SIMD memory. */
export interface SimdCell {
  /** Where the step's GEMM writes h·R^T: [batch, stepGates * H]. */
  rh: Float32Array;
  /** The states (h, and c for lstm) as [batch, H]. */
  states: Float32Array[];
  /**
   * Runs one step: entry b takes row rows[b] of `xw` (X·W^T and biases, gates * H per row), or does
   * not step when rows[b] < 0 (its states stay as they are).
   */
  step(xw: Float32Array, rows: Int32Array): void;
}

interface CellGeometry {
  gates: number;
  stepGates: number;
  /** States kept across steps (h; c), then the gru's per-step arrays (update, r ⊙ h, its product). */
  states: number;
  scratch: number;
}

const GEOMETRY: Record<CellKind, CellGeometry> = {
  lstm: { gates: 4, stepGates: 4, states: 2, scratch: 0 },
  gru: { gates: 3, stepGates: 2, states: 1, scratch: 3 },
  gruLinearBeforeReset: { gates: 3, stepGates: 3, states: 1, scratch: 0 },
  rnn: { gates: 1, stepGates: 1, states: 1, scratch: 0 },
};

const FLOAT = 4;

/** Row pointers of a generated function: a byte address each, and how far it moves per row (0: the same row for every entry). */
type Pointer = { stride: number };

/**
 * A function (params: one byte address per pointer, then `rows`) running `perVector` for every 16
 * bytes of `rows` rows of H floats; `load(p, gate)` reads pointer p's row at gate block `gate`
 * (gate * H floats in), `store` writes one. rows >= 1.
 */
function rowFunction(
  name: string,
  pointers: Pointer[],
  hidden: number,
  perVector: (w: FunctionWriter, load: (p: number, gate: number) => Code, store: (p: number, gate: number, value: Code) => void) => void,
): ModuleFunction {
  const w = new FunctionWriter(pointers.length + 1, 1);
  const ROWS = pointers.length;
  const K = w.i32Local(0); // byte offset within the row
  const address = (p: number): Code => [...get(p), ...get(K), op.i32Add];
  const load = (p: number, gate: number): Code => [...address(p), ...simdMem(simdOp.v128Load, 4, gate * hidden * FLOAT)];
  const store = (p: number, gate: number, value: Code): void => w.emit(address(p), value, simdMem(simdOp.v128Store, 4, gate * hidden * FLOAT));
  w.countdown(ROWS, () => {
    w.overVectors(K, i32(hidden * FLOAT), () => perVector(w, load, store));
    pointers.forEach((p, i) => {
      if (p.stride) w.emit([...get(i), ...i32(p.stride), op.i32Add, ...set(i)]);
    });
  });
  return { name, params: pointers.length + 1, code: w.code() };
}

/** The functions of a cell: `step` (and for gru without linearBeforeReset, `gates` then `candidate` around the product). */
function cellFunctions(kind: CellKind, hidden: number, acts: VectorActivation[], clip: number, coupled: boolean, peepholes: boolean): ModuleFunction[] {
  const { gates, stepGates } = GEOMETRY[kind];
  const xwRow = { stride: gates * hidden * FLOAT };
  const rhRow = { stride: stepGates * hidden * FLOAT };
  const stateRow = { stride: hidden * FLOAT };
  const fixed = { stride: 0 };
  const [f, g, h] = acts;
  const activate = (w: FunctionWriter, act: VectorActivation, x: Code): Code => act(w, clipped(x, clip));
  const one = f32x4(1);
  switch (kind) {
    case 'rnn':
      // h = f(xw + rh)
      return [rowFunction('step', [xwRow, rhRow, stateRow], hidden, (w, load, store) => store(2, 0, activate(w, f, add(load(0, 0), load(1, 0)))))];
    case 'lstm':
      // (xw, rh, h, c, p): gates i, o, f, c at blocks 0-3; peepholes i, o, f at 0-2 of p
      return [
        rowFunction('step', [xwRow, rhRow, stateRow, stateRow, fixed], hidden, (w, load, store) => {
          const gate = (j: number): Code => add(load(0, j), load(1, j));
          const cPrev = w.keep(load(3, 0));
          const peep = (j: number, x: Code, c: Code): Code => (peepholes ? add(x, mul(load(4, j), c)) : x);
          const iGate = w.keep(activate(w, f, peep(0, gate(0), cPrev)));
          const fGate = coupled ? sub(one, iGate) : activate(w, f, peep(2, gate(2), cPrev));
          const cNew = w.keep(add(mul(fGate, cPrev), mul(iGate, activate(w, g, gate(3)))));
          store(3, 0, cNew);
          store(2, 0, mul(activate(w, f, peep(1, gate(1), cNew)), h(w, cNew)));
        }),
      ];
    case 'gruLinearBeforeReset':
      // (xw, rh, h, rbh): h = (1 - z) g(xw_h + r (rh_h + Rb_h)) + z h
      return [
        rowFunction('step', [xwRow, rhRow, stateRow, fixed], hidden, (w, load, store) => {
          const z = w.keep(activate(w, f, add(load(0, 0), load(1, 0))));
          const r = activate(w, f, add(load(0, 1), load(1, 1)));
          const candidate = activate(w, g, add(load(0, 2), mul(r, add(load(1, 2), load(3, 0)))));
          store(2, 0, add(mul(sub(one, z), candidate), mul(z, load(2, 0))));
        }),
      ];
    case 'gru':
      return [
        // (xw, rh, h, update, resetH): update = f(z), resetH = f(r) h
        rowFunction('gates', [xwRow, rhRow, stateRow, stateRow, stateRow], hidden, (w, load, store) => {
          store(3, 0, activate(w, f, add(load(0, 0), load(1, 0))));
          store(4, 0, mul(activate(w, f, add(load(0, 1), load(1, 1))), load(2, 0)));
        }),
        // (xw, product, h, update, rbh): h = (1 - u) g(xw_h + R_h·(r h) + Rb_h) + u h
        rowFunction('candidate', [xwRow, stateRow, stateRow, stateRow, fixed], hidden, (w, load, store) => {
          const u = w.keep(load(3, 0));
          const candidate = activate(w, g, add(add(load(0, 2), load(1, 0)), load(4, 0)));
          store(2, 0, add(mul(sub(one, u), candidate), mul(u, load(2, 0))));
        }),
      ];
  }
}

type CellExports = { memory: WebAssembly.Memory } & Record<string, (...args: number[]) => void>;

/** Instances by configuration; each keeps its memory at the largest batch it has run. */
const instances = new Map<string, CellExports | null>();

function cellInstance(kind: CellKind, hidden: number, slots: ops.RnnActivation[], clip: number, coupled: boolean, peepholes: boolean): CellExports | null {
  const key = JSON.stringify([kind, hidden, slots, clip, coupled, peepholes]);
  let instance = instances.get(key);
  if (instance !== undefined) return instance;
  const acts = slots.map((a) => vectorActivation(a.name, a.alpha, a.beta));
  instance = acts.every((a) => a !== null) ? instantiateModule<CellExports>(() => functionsModule(cellFunctions(kind, hidden, acts as VectorActivation[], clip, coupled, peepholes))) : null;
  instances.set(key, instance);
  return instance;
}

/**
 * Direction d's cell on SIMD for a batch, its states zeroed, `packed` its R^T (every gate); null
 * where it has no SIMD form (SIMD kernels off, a hidden size not a multiple of 4, an activation
 * without one), and the caller runs the JavaScript cell.
 */
export function simdCell(spec: SimdCellSpec, d: number, batch: number, hidden: number, packed: PackedB): SimdCell | null {
  if (!simdKernelsEnabled() || hidden % 4 !== 0 || batch === 0) return null;
  const { kind, clip } = spec;
  const peepholes = spec.peepholes !== undefined;
  const cell = cellInstance(kind, hidden, spec.activations[d], clip, spec.coupled === true, peepholes);
  if (!cell) return null;
  const { gates, stepGates, states: stateCount, scratch } = GEOMETRY[kind];
  const gh = gates * hidden;
  const rowsOf = batch * hidden;
  // float regions: the staged xw rows, rh, the states, the gru's scratch, then P's or Rb_h's row
  const XW = 0;
  const RH = XW + batch * gh;
  const STATES = RH + batch * stepGates * hidden;
  const SCRATCH = STATES + stateCount * rowsOf;
  const PARAMS = SCRATCH + scratch * rowsOf;
  if (!ensureMemory(cell.memory, (PARAMS + 3 * hidden) * FLOAT)) return null;
  const memory = new Float32Array(cell.memory.buffer);
  const region = (at: number, floats: number): Float32Array => memory.subarray(at, at + floats);
  const states = Array.from({ length: stateCount }, (_, i) => region(STATES + i * rowsOf, rowsOf).fill(0));
  if (spec.peepholes) memory.set(spec.peepholes.subarray(d * 3 * hidden, (d + 1) * 3 * hidden), PARAMS);
  if (kind === 'gru' || kind === 'gruLinearBeforeReset') {
    const rbh = region(PARAMS, hidden);
    if (spec.bias) rbh.set(spec.bias.subarray(d * 6 * hidden + 5 * hidden, (d + 1) * 6 * hidden));
    else rbh.fill(0);
  }
  // byte address of entry b's row in each region
  const row = (base: number, width: number) => (b: number) => (base + b * width) * FLOAT;
  const at = {
    xw: row(XW, gh),
    rh: row(RH, stepGates * hidden),
    h: row(STATES, hidden),
    c: row(STATES + rowsOf, hidden),
    update: row(SCRATCH, hidden),
    resetH: row(SCRATCH + rowsOf, hidden),
    product: row(SCRATCH + 2 * rowsOf, hidden),
  };
  const params = PARAMS * FLOAT;
  const resetH = region(SCRATCH + rowsOf, rowsOf);
  const product = region(SCRATCH + 2 * rowsOf, rowsOf);
  // R_h^T, a block of the step's packing (2H is a multiple of 8 here), so its SIMD copy stays put between the step's two products
  const packedRh = kind === 'gru' ? packedColumns(packed, 2 * hidden, hidden) : undefined;
  // runs of consecutive stepping entries: [first, count, ...]
  const runs: number[] = [];
  const eachRun = (visit: (b: number, count: number) => void): void => {
    for (let i = 0; i < runs.length; i += 2) visit(runs[i], runs[i + 1]);
  };
  /** Finds the runs of stepping entries and copies their rows of xw in, one copy where the rows follow each other. */
  const stage = (xw: Float32Array, rows: Int32Array): void => {
    runs.length = 0;
    for (let b = 0; b < batch; ) {
      if (rows[b] < 0) {
        b++;
        continue;
      }
      const first = b;
      while (b < batch && rows[b] >= 0) {
        let end = b + 1;
        while (end < batch && rows[end] === rows[end - 1] + 1) end++;
        memory.set(xw.subarray(rows[b] * gh, (rows[b] + end - b) * gh), XW + b * gh);
        b = end;
      }
      runs.push(first, b - first);
    }
  };
  return {
    rh: region(RH, batch * stepGates * hidden),
    states,
    step(xw, rows) {
      stage(xw, rows);
      switch (kind) {
        case 'rnn':
          eachRun((b, n) => cell.step(at.xw(b), at.rh(b), at.h(b), n));
          break;
        case 'lstm':
          eachRun((b, n) => cell.step(at.xw(b), at.rh(b), at.h(b), at.c(b), params, n));
          break;
        case 'gruLinearBeforeReset':
          eachRun((b, n) => cell.step(at.xw(b), at.rh(b), at.h(b), params, n));
          break;
        case 'gru':
          eachRun((b, n) => cell.gates(at.xw(b), at.rh(b), at.h(b), at.update(b), at.resetH(b), n));
          gemmPacked(batch, hidden, hidden, { data: resetH, offset: 0, rowStride: hidden, colStride: 1 }, packedRh!, product);
          eachRun((b, n) => cell.candidate(at.xw(b), at.product(b), at.h(b), at.update(b), params, n));
          break;
      }
    },
  };
}
