/**
 * ONNX import fuzzer (`node tests/fuzz/run.js --suite onnx`): mutates valid ONNX models (bit flips,
 * truncation, spliced bytes, and structural edits: huge/negative/zero dims, wrong data types and
 * lengths, dropped or rewired values, cycles, changed op types and attributes), then imports each
 * and, when the import succeeds, runs it on small random feeds. Every outcome must be success or a
 * GraphcError: any other exception, or a case that takes over 10 s, is a failure.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Graph, GraphcError, Session, TensorValue, encodeModel, exportOnnx, importOnnx, onnx, ops, tensor } from 'graphc';
import { cumulativeScan, shapeIf } from '../onnx/control-flow-models';
import { buildModel, modelProto } from '../onnx/onnx-builder';
import { CaseResult, typedOutcome } from './typed-outcome';

const DATA = process.env.ONNX_TESTDATA ?? '/usr/share/libonnx-testdata/data';

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed * 2654435761) >>> 0 || 1;
  }
  next(): number {
    // xorshift32
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
}

// a mutant may turn a Loop's trip count infinite: such a loop must end in the runtime's typed error,
// and sooner than its default cap of 2^24 iterations would
process.env.GRAPHC_MAX_LOOP_ITERATIONS ??= '100000';

/** Valid models to start from: hand-built ones, exported TS graphs, and (when installed) ONNX's test models. */
export function buildCorpus(): { name: string; bytes: Uint8Array }[] {
  const corpus: { name: string; bytes: Uint8Array }[] = [];
  corpus.push({
    name: 'dynamic-flatten',
    bytes: buildModel({
      inputs: [{ name: 'x', shape: ['batch', 2, 3] }],
      outputs: [{ name: 'y' }],
      initializers: { zero: tensor([0], [], 'int64'), minus1: tensor([-1], [1], 'int64'), ax0: tensor([0], [1], 'int64') },
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Gather', inputs: ['s', 'zero'], outputs: ['b'], attrs: { axis: 0 } },
        { op: 'Unsqueeze', inputs: ['b', 'ax0'], outputs: ['b1'] },
        { op: 'Concat', inputs: ['b1', 'minus1'], outputs: ['t'], attrs: { axis: 0 } },
        { op: 'Reshape', inputs: ['x', 't'], outputs: ['f'] },
        { op: 'Softmax', inputs: ['f'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    }),
  });
  corpus.push({
    name: 'params-as-inputs',
    bytes: buildModel({
      inputs: [
        { name: 'x', shape: [2, 3, 4] },
        { name: 'shape', elemType: 7, shape: [2] },
        { name: 'pads', elemType: 7, shape: [6] },
        { name: 'k', elemType: 7, shape: [1] },
      ],
      outputs: [{ name: 'r' }, { name: 'p' }, { name: 'v' }, { name: 'c' }],
      nodes: [
        { op: 'Reshape', inputs: ['x', 'shape'], outputs: ['r'] },
        { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
        { op: 'TopK', inputs: ['x', 'k'], outputs: ['v', 'i'] },
        { op: 'ConstantOfShape', inputs: ['shape'], outputs: ['c'] },
      ],
    }),
  });
  corpus.push({ name: 'shape-if', bytes: buildModel(shapeIf(2)) });
  corpus.push({ name: 'scan', bytes: cumulativeScan({ xShape: [3, 2], inDir: 1, outAxis: 1 }) });
  const g = new Graph();
  const x = g.placeholder('float32', [null, 8, 8, 3], 'x');
  const w = g.constant(tensor(Array.from({ length: 54 }, (_, i) => Math.sin(i)), [3, 3, 3, 2]), 'w');
  const h = ops.maxPool(ops.relu(ops.conv2d(x, w, 1, 'SAME')), 2, 2, 'VALID');
  const flat = ops.reshape(h, [-1, 32]);
  ops.softmax(ops.matmul(flat, g.constant(tensor(Array.from({ length: 160 }, (_, i) => Math.cos(i)), [32, 5]))), -1, 'probs');
  corpus.push({ name: 'convnet', bytes: exportOnnx(g, { outputs: ['probs'] }) });
  const r = new Graph();
  const seq = r.placeholder('float32', [4, 2, 3], 'seq');
  const c = (shape: number[]) => r.constant(tensor(Array.from({ length: shape.reduce((a, d) => a * d, 1) }, (_, i) => Math.sin(i) / 2), shape));
  const lstm = r.addNode('lstm', [seq, c([1, 16, 3]), c([1, 16, 4])], { inputs: ['x', 'w', 'r'], hiddenSize: 4 });
  ops.identity(ops.resize(ops.expandDims(lstm.output(0), 0), [1, 4, 1, 4, 8], { mode: 'linear' }), 'out');
  corpus.push({ name: 'lstm-resize', bytes: exportOnnx(r, { outputs: ['out'] }) });
  // run-time control flow: a Loop with a body If, both reading outer values, as exportOnnx writes them
  const l = new Graph();
  const v0 = l.placeholder('float32', [3], 'v0');
  const n = l.placeholder('int32', [], 'n');
  const [, v] = ops.whileLoop((i) => ops.less(i, n), (i, a) => [ops.add(i, 1), ops.cond(ops.greater(ops.reduceSum(a), 1), () => ops.mul(a, 0.5), () => ops.add(a, v0))], [ops.cast(0, 'int32'), v0]);
  ops.identity(v, 'looped');
  corpus.push({ name: 'loop-if', bytes: exportOnnx(l, { outputs: ['looped'] }) });
  corpus.push({ name: 'transformer-opset23', bytes: transformerOpset23() });
  corpus.push({ name: 'contrib-llm', bytes: contribLlm() });
  corpus.push({ name: 'contrib-mha', bytes: contribMultiHeadAttention() });
  corpus.push({ name: 'contrib-gqa', bytes: contribGroupQueryAttention() });
  if (fs.existsSync(DATA)) {
    const pick = ['node/test_conv_with_strides_padding', 'node/test_gather_0', 'node/test_slice', 'node/test_layer_normalization_4d_axis1_expanded',
      'node/test_resize_upsample_scales_cubic', 'node/test_gru_seq_length', 'node/test_nllloss_NCd1d2d3_sum_weight_high_ii_expanded',
      'node/test_maxpool_2d_precomputed_pads', 'node/test_einsum_batch_matmul', 'node/test_scatternd', 'node/test_range_float_type_positive_delta',
      'node/test_onehot_with_axis', 'node/test_split_variable_parts_2d', 'node/test_tile', 'node/test_convtranspose_pads', 'node/test_cumsum_2d_axis_0',
      'pytorch-converted/test_Conv3d_dilated_strided', 'pytorch-converted/test_Embedding', 'pytorch-operator/test_operator_pad', 'simple/test_expand_shape_model3',
      'node/test_loop11', 'node/test_if', 'node/test_range_int32_type_negative_delta_expanded', 'node/test_roialign_aligned_true'];
    for (const p of pick) {
      const file = path.join(DATA, p, 'model.onnx');
      if (fs.existsSync(file)) corpus.push({ name: p, bytes: fs.readFileSync(file) });
    }
  }
  return corpus;
}

const wave = (shape: number[], phase: number) => tensor(Array.from({ length: shape.reduce((a, d) => a * d, 1) }, (_, i) => Math.sin(i + phase) / 2), shape);

/** Opset 23's transformer ops: RMSNormalization, RotaryEmbedding, a causal grouped-query Attention with a mask, Gelu, Swish (24 is read too). */
function transformerOpset23(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', shape: [2, 5, 16] }, { name: 'mask', shape: [5, 5] }],
    outputs: [{ name: 'y' }],
    initializers: {
      scale: wave([16], 1),
      cos: wave([5, 2], 2),
      sin: wave([5, 2], 3),
      positions: tensor([0, 1, 2, 3, 4, 0, 1, 2, 3, 4], [2, 5], 'int64'),
      kv: wave([16, 8], 4),
    },
    nodes: [
      { op: 'RMSNormalization', inputs: ['x', 'scale'], outputs: ['n'] },
      { op: 'RotaryEmbedding', inputs: ['n', 'cos', 'sin', 'positions'], outputs: ['r'], attrs: { num_heads: 4 } },
      { op: 'MatMul', inputs: ['r', 'kv'], outputs: ['k'] },
      { op: 'Attention', inputs: ['r', 'k', 'k', 'mask'], outputs: ['a'], attrs: { q_num_heads: 4, kv_num_heads: 2, is_causal: 1 } },
      { op: 'Gelu', inputs: ['a'], outputs: ['g'], attrs: { approximate: 'tanh' } },
      { op: 'Swish', inputs: ['g'], outputs: ['y'] },
    ],
    opset: 24,
  });
}

/** onnxruntime's contrib ops as its LLM exports write them: 4-bit MatMulNBits with packed zero points, a skip RMS norm, FastGelu, FusedMatMul. */
function contribLlm(): Uint8Array {
  const proto = modelProto({
    inputs: [{ name: 'x', shape: [3, 32] }],
    outputs: [{ name: 'y' }],
    initializers: { scales: wave([8 * 2], 5), gamma: wave([8], 6), w2: wave([8, 8], 7) },
    nodes: [
      { op: 'MatMulNBits', inputs: ['x', 'q', 'scales', 'zp'], outputs: ['h'], attrs: { K: 32, N: 8, bits: 4, block_size: 16 }, domain: 'com.microsoft' },
      { op: 'SkipSimplifiedLayerNormalization', inputs: ['h', 'h', 'gamma'], outputs: ['s'], domain: 'com.microsoft' },
      { op: 'FastGelu', inputs: ['s'], outputs: ['f'], domain: 'com.microsoft' },
      { op: 'FusedMatMul', inputs: ['f', 'w2'], outputs: ['y'], attrs: { alpha: { f: 0.5 }, transB: 1 }, domain: 'com.microsoft' },
    ],
  });
  proto.opsetImport!.push({ domain: 'com.microsoft', version: 1 });
  const uint8 = (name: string, dims: number[], count: number): onnx.ITensorProto => ({ name, dims, dataType: 2, rawData: Uint8Array.from({ length: count }, (_, i) => (i * 37) % 256) });
  proto.graph!.initializer!.push(uint8('q', [8, 2, 8], 128), uint8('zp', [8], 8));
  return encodeModel(proto);
}

/** onnxruntime's attention ops as its transformer optimizer writes them: MultiHeadAttention (a bias, a key padding mask, a cache) and a BERT-style Attention. */
function contribMultiHeadAttention(): Uint8Array {
  const proto = modelProto({
    inputs: [{ name: 'x', shape: [2, 4, 12] }, { name: 'mask', elemType: 6, shape: [2, 7] }, { name: 'lengths', elemType: 6, shape: [2] }],
    outputs: [{ name: 'y' }, { name: 'present_k' }, { name: 'z' }],
    initializers: { bias: wave([36], 8), pk: wave([2, 3, 3, 4], 9), pv: wave([2, 3, 3, 4], 10), w: wave([12, 36], 11) },
    nodes: [
      { op: 'MultiHeadAttention', inputs: ['x', 'x', 'x', 'bias', 'mask', '', 'pk', 'pv'], outputs: ['y', 'present_k'], attrs: { num_heads: 3, unidirectional: 1 }, domain: 'com.microsoft' },
      { op: 'Attention', inputs: ['y', 'w', 'bias', 'lengths'], outputs: ['z'], attrs: { num_heads: 3 }, domain: 'com.microsoft' },
    ],
  });
  proto.opsetImport!.push({ domain: 'com.microsoft', version: 1 });
  return encodeModel(proto);
}

/** onnxruntime's GroupQueryAttention as its LLM exports write it: a decode step over a cache, rotary, lengths as inputs. */
function contribGroupQueryAttention(): Uint8Array {
  const proto = modelProto({
    inputs: [
      { name: 'x', shape: [2, 1, 32] },
      { name: 'past_k', shape: [2, 1, 3, 16] },
      { name: 'past_v', shape: [2, 1, 3, 16] },
      { name: 'seqlens', elemType: 6, shape: [2] },
      { name: 'total', elemType: 6, shape: [] },
    ],
    outputs: [{ name: 'y' }, { name: 'present_k' }, { name: 'present_v' }],
    initializers: { wk: wave([32, 16], 12), cos: wave([8, 8], 13), sin: wave([8, 8], 14) },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'wk'], outputs: ['kv'] },
      { op: 'GroupQueryAttention', inputs: ['x', 'kv', 'kv', 'past_k', 'past_v', 'seqlens', 'total', 'cos', 'sin'], outputs: ['y', 'present_k', 'present_v'], attrs: { num_heads: 2, kv_num_heads: 1, do_rotary: 1 }, domain: 'com.microsoft' },
    ],
  });
  proto.opsetImport!.push({ domain: 'com.microsoft', version: 1 });
  return encodeModel(proto);
}

let corpus: { name: string; bytes: Uint8Array }[] | undefined;

/** How the cases ended so far (to check that mutants still reach the runtime often enough). */
export const outcomes = { importError: 0, imported: 0, runError: 0, ran: 0 };

const HUGE = [2 ** 31, 2 ** 40, 1e15, 2 ** 53, 2 ** 62, -1, -(2 ** 31), 0, 1, 65536];

function mutateBytes(bytes: Uint8Array, rng: Rng): [Uint8Array, string] {
  const b = Uint8Array.from(bytes);
  switch (rng.int(5)) {
    case 0: {
      const n = 1 + rng.int(8);
      for (let i = 0; i < n; i++) b[rng.int(b.length)] ^= 1 << rng.int(8);
      return [b, `flip ${n} bits`];
    }
    case 1: {
      const at = rng.int(b.length);
      return [b.subarray(0, at), `truncate at ${at}`];
    }
    case 2: {
      const at = rng.int(b.length);
      const junk = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.pick([0, 0xff, 0x80, 0x7f, rng.int(256)]));
      return [Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]), `insert ${junk.length} bytes at ${at}`];
    }
    case 3: {
      const at = rng.int(b.length);
      const len = 1 + rng.int(32);
      return [Buffer.concat([b.subarray(0, at), b.subarray(at + len)]), `delete ${len} bytes at ${at}`];
    }
    default: {
      const at = rng.int(b.length);
      for (let i = 0; i < 4 && at + i < b.length; i++) b[at + i] = rng.pick([0xff, 0x00, 0x80, 0x7f]);
      return [b, `overwrite 4 bytes at ${at}`];
    }
  }
}

/** A node whose repeated fields the mutations edit are arrays (protobufjs decodes them so; its interface types leave them optional). */
type EditableNode = onnx.INodeProto & { input: string[]; output: string[]; attribute: onnx.IAttributeProto[] };
type EditableTensor = onnx.ITensorProto & { dims: NonNullable<onnx.ITensorProto['dims']> };
interface EditableGraph {
  input: onnx.IValueInfoProto[];
  initializer: EditableTensor[];
  node: EditableNode[];
}

/** The model's graph with the repeated fields the mutations edit set to arrays in place, so every edit lands in `m`. */
function editableGraph(m: onnx.ModelProto): EditableGraph {
  const g = m.graph!;
  const input = g.input ?? [];
  const initializer = (g.initializer ?? []).map((t) => Object.assign(t, { dims: t.dims ?? [] }));
  const node = (g.node ?? []).map((n) => Object.assign(n, { input: n.input ?? [], output: n.output ?? [], attribute: n.attribute ?? [] }));
  Object.assign(g, { input, initializer, node });
  return { input, initializer, node };
}

function mutateModel(bytes: Uint8Array, rng: Rng): [Uint8Array, string] {
  const m = onnx.ModelProto.decode(bytes);
  const g = editableGraph(m);
  const values = [...g.input.map((i) => i.name ?? ''), ...g.initializer.map((i) => i.name ?? ''), ...g.node.flatMap((n) => n.output)];
  const steps: string[] = [];
  const edits = 1 + rng.int(3);
  for (let e = 0; e < edits; e++) {
    const kind = rng.int(12);
    if (kind === 0 && g.initializer.length) {
      const t = rng.pick(g.initializer);
      if (t.dims.length) t.dims[rng.int(t.dims.length)] = rng.pick(HUGE);
      steps.push(`initializer '${t.name}' dims -> [${t.dims}]`);
    } else if (kind === 1 && g.input.length) {
      const vi = rng.pick(g.input);
      const dims = vi.type?.tensorType?.shape?.dim ?? [];
      if (dims.length) dims[rng.int(dims.length)] = onnx.TensorShapeProto.Dimension.create({ dimValue: rng.pick(HUGE) });
      steps.push(`input '${vi.name}' dims changed`);
    } else if (kind === 2 && g.initializer.length) {
      const t = rng.pick(g.initializer);
      t.dataType = rng.pick([0, 2, 3, 7, 8, 9, 10, 11, 14, 16, 99]);
      steps.push(`initializer '${t.name}' dataType -> ${t.dataType}`);
    } else if (kind === 3 && g.initializer.length) {
      const t = rng.pick(g.initializer);
      if (t.rawData && t.rawData.length) t.rawData = t.rawData.subarray(0, rng.int(t.rawData.length));
      steps.push(`initializer '${t.name}' data cut`);
    } else if (kind === 4 && g.node.length) {
      const n = rng.pick(g.node);
      if (n.input.length) n.input[rng.int(n.input.length)] = rng.pick([...values, 'missing', '']);
      steps.push(`node '${n.name}' input rewired`);
    } else if (kind === 5 && g.node.length > 1) {
      // feed an early node from a later one: a cycle
      const later = g.node[g.node.length - 1];
      const early = g.node[0];
      if (early.input.length && later.output.length) early.input[0] = later.output[0];
      steps.push('cycle');
    } else if (kind === 6 && g.node.length) {
      const n = rng.pick(g.node);
      n.opType = rng.pick(['Relu', 'Reshape', 'Conv', 'Gather', 'Slice', 'Expand', 'Tile', 'Resize', 'LSTM', 'Pad', 'ConstantOfShape', 'Range', 'TopK', 'Einsum', 'Split', 'Nope']);
      steps.push(`node '${n.name}' op -> ${n.opType}`);
    } else if (kind === 7 && g.node.length) {
      const n = rng.pick(g.node);
      for (const a of n.attribute) {
        if (a.ints && a.ints.length) a.ints[rng.int(a.ints.length)] = rng.pick(HUGE);
        else if (a.type === onnx.AttributeProto.AttributeType.INT) a.i = rng.pick(HUGE);
        else if (a.type === onnx.AttributeProto.AttributeType.FLOAT) a.f = rng.pick([NaN, Infinity, -1, 0, 1e30]);
      }
      steps.push(`node '${n.name}' attributes extreme`);
    } else if (kind === 8 && g.node.length) {
      g.node.splice(rng.int(g.node.length), 1);
      steps.push('node dropped');
    } else if (kind === 9 && g.initializer.length) {
      g.initializer.splice(rng.int(g.initializer.length), 1);
      steps.push('initializer dropped');
    } else if (kind === 10 && m.opsetImport.length) {
      m.opsetImport[0].version = rng.pick([0, 1, 6, 7, 11, 13, 18, 19, 1000]);
      steps.push(`opset -> ${m.opsetImport[0].version}`);
    } else if (g.node.length) {
      const n = rng.pick(g.node);
      n.attribute.push(onnx.AttributeProto.create({ name: rng.pick(['axis', 'axes', 'perm', 'kernel_shape', 'pads', 'group', 'to']), type: onnx.AttributeProto.AttributeType.INTS, ints: [rng.pick(HUGE), rng.pick(HUGE)] }));
      steps.push(`node '${n.name}' extra attribute`);
    }
  }
  return [onnx.ModelProto.encode(m).finish(), steps.join('; ')];
}

/** Small random feeds for the model's inputs, or undefined when a declared input is too large to feed. */
function feedsFor(graph: Graph, rng: Rng): Record<string, TensorValue> | undefined {
  const feeds: Record<string, TensorValue> = {};
  for (const p of graph.placeholders()) {
    const shape = p.shape.map((d) => (d === null ? 1 + rng.int(3) : d));
    const size = shape.reduce((a, d) => a * d, 1);
    if (size > 100000) return undefined;
    const data = Array.from({ length: size }, () => (p.dtype === 'bool' ? rng.int(2) : p.dtype.startsWith('float') ? rng.next() * 4 - 2 : rng.int(5) - 1));
    feeds[p.name] = tensor(data, shape, p.dtype);
  }
  return feeds;
}

/** The runner's outcome events under this fuzzer's names (an ONNX file is imported, not loaded). */
const ONNX_OUTCOME = { loadError: 'importError', loaded: 'imported', runError: 'runError', ran: 'ran' } as const;

export async function runCase(seed: number): Promise<CaseResult> {
  corpus ??= buildCorpus();
  const rng = new Rng(seed);
  const base = corpus[rng.int(corpus.length)];
  let bytes: Uint8Array;
  let how: string;
  try {
    [bytes, how] = rng.int(3) === 0 ? mutateBytes(base.bytes, rng) : mutateModel(base.bytes, rng);
  } catch (e) {
    return { seed, ok: false, detail: `seed ${seed}: the mutator itself failed on ${base.name}: ${String(e)}` };
  }
  const where = `seed ${seed}: ${base.name} (${how})`;
  return typedOutcome(
    seed,
    where,
    () => importOnnx(bytes, { file: base.name }),
    async ({ graph, signature }) => {
      const feeds = feedsFor(graph, rng);
      if (!feeds || !signature.outputs.length) return false;
      const session = new Session(graph);
      try {
        await session.run(signature.outputs, feeds);
        return true;
      } finally {
        session.close();
      }
    },
    (event) => outcomes[ONNX_OUTCOME[event]]++,
  );
}
