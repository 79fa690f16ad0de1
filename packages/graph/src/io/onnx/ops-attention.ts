import { SymbolicTensor } from '../../graph';
import { tensor } from '../../tensor';
import type { OnnxNode } from './context';
import { Param, castTo, dimOf, int64Param, scalarOf, withParams } from './helpers';
import { defineOnnxOp } from './import';

/**
 * Attention (opset 23), composed from graphc ops as ONNX's reference computes it:
 * softmax(softcap(Q·√s (K·√s)^T) + bias) V, heads [B, H, S, D] (or [B, S, H * D] with the head counts
 * given). The bias is the mask (boolean: -inf where false; shorter than the keys: padded with -inf)
 * plus, when causal, -inf above the diagonal shifted by the cached length. past_key and past_value
 * are prepended along the sequence and returned as present_key and present_value; fewer key/value
 * heads than query heads are repeated head by head (grouped-query attention). Not read:
 * nonpad_kv_seqlen (opset 24's static caches).
 */

/** [B, S, H * D] as [B, H, S, D]. */
export function headsFirst(n: OnnxNode, x: SymbolicTensor, heads: number, what: string): SymbolicTensor {
  const hidden = x.shape[2] ?? n.unsupported(`a 3-D ${what} needs its hidden size known at import`);
  if (!(heads > 0 && hidden % heads === 0)) n.fail(`${what}: ${heads} heads do not divide the hidden size ${hidden}`);
  const split = withParams(n, 'onnx.Reshape', [x], [int64Param(n, [0, 0, heads, hidden / heads])], { allowzero: false }).output(0);
  return n.op('transpose', [split], { perm: [0, 2, 1, 3] });
}

/**
 * 0 where query i may see key j (j <= i + past: the lower triangle of the [queries, keys] block,
 * shifted by the cached length), `fill` above, shaped as `scores`.
 */
function causalBias(n: OnnxNode, scores: SymbolicTensor, past: Param, fill: SymbolicTensor): SymbolicTensor {
  const zero = scalarOf(n, 0, scores.dtype);
  const allowed = withParams(n, 'onnx.Trilu', [n.op('onesLike', [scores])], [past], { upper: false }).output(0);
  return n.op('where', [n.op('greater', [allowed, zero]), zero, fill]);
}

/**
 * Grouped-query attention without copying the key/value heads out per query head: the query heads
 * sharing a key/value head (qHeads / kvHeads of them in a row) become that head's rows,
 * [B, qHeads, S, X] <-> [B, kvHeads, qHeads / kvHeads * S, X], so a product with the keys or values
 * reads each key/value head once.
 */
export function groupedHeads(n: OnnxNode, qHeads: number, kvHeads: number): { byKvHead: (x: SymbolicTensor) => SymbolicTensor; byHead: (x: SymbolicTensor) => SymbolicTensor } {
  const reshaped = (x: SymbolicTensor, target: number[]) => withParams(n, 'onnx.Reshape', [x], [int64Param(n, target)], { allowzero: false }).output(0);
  if (qHeads === kvHeads) return { byKvHead: (x) => x, byHead: (x) => x };
  return { byKvHead: (x) => reshaped(x, [0, kvHeads, -1, 0]), byHead: (x) => reshaped(x, [0, qHeads, -1, 0]) };
}

/** A cache's length along `axis` (0 without a cache): known at import, or read from its shape at run time. */
function cachedLength(n: OnnxNode, past: SymbolicTensor | undefined, axis: number): Param {
  const known = past ? past.shape[axis] : 0;
  return known !== null ? int64Param(n, [known]) : { tensor: dimOf(n, past!, axis) };
}

defineOnnxOp('Attention', (n) => {
  if (n.has(6)) n.unsupported('nonpad_kv_seqlen (static key/value caches) is not supported');
  const rank = n.input(0).rank;
  if (rank !== 3 && rank !== 4) n.fail(`Q must be [B, H, S, D] or [B, S, hidden], got rank ${rank}`);
  const qHeadsAttr = n.attr.int('q_num_heads', 0);
  const kvHeadsAttr = n.attr.int('kv_num_heads', 0);
  const [q, k, v] = [0, 1, 2].map((i) =>
    rank === 3 ? headsFirst(n, n.input(i), i === 0 ? qHeadsAttr : kvHeadsAttr, ['Q', 'K', 'V'][i]) : n.input(i),
  );
  const headSize = q.shape[3] ?? n.unsupported('Attention needs the head size known at import');
  const scale = n.attr.has('scale') ? n.attr.float('scale') : 1 / Math.sqrt(headSize);
  const root = scalarOf(n, Math.sqrt(scale), q.dtype);
  const keys = n.has(4) ? n.op('concat', [n.input(4), k], { axis: 2 }) : k;
  const values = n.has(5) ? n.op('concat', [n.input(5), v], { axis: 2 }) : v;
  // grouped-query attention: fewer key/value heads than query heads
  const qHeads = q.shape[1] ?? n.unsupported('Attention needs the query head count known at import');
  const kvHeads = keys.shape[1] ?? n.unsupported('Attention needs the key/value head count known at import');
  if (qHeads % kvHeads) n.fail(`${qHeads} query heads are not a multiple of ${kvHeads} key/value heads`);
  const { byKvHead, byHead } = groupedHeads(n, qHeads, kvHeads);
  const scores = byHead(n.op('matmul', [byKvHead(n.op('mul', [q, root])), n.op('mul', [keys, root])], { transposeA: false, transposeB: true }));
  const softcap = n.attr.float('softcap', 0);
  const capTo = (cap: SymbolicTensor) => n.op('mul', [n.op('tanh', [n.op('div', [scores, cap])]), cap]);
  const capped = softcap > 0 ? capTo(scalarOf(n, softcap, q.dtype)) : scores;
  const zero = scalarOf(n, 0, q.dtype);
  const minusInf = scalarOf(n, -Infinity, q.dtype);
  let bias: SymbolicTensor | undefined;
  if (n.has(3)) {
    let mask = n.input(3);
    const total = keys.shape[2];
    const given = mask.shape[mask.rank - 1];
    if (given === null || total === null) {
      if (given !== total) n.unsupported('an attention mask whose length or the key count is known only at run time');
    } else if (given < total) {
      // a mask shorter than the keys leaves the rest out: false, or -inf (kept in a tensor: an attr
      // of -Infinity would not survive a saved model.json)
      const paddings = mask.shape.flatMap((_, i) => (i === mask.rank - 1 ? [0, total - given] : [0, 0]));
      const inside = n.op('pad', [n.op('onesLike', [castTo(n, mask, q.dtype)])], { paddings, mode: 'constant', constantValue: 0 });
      mask = n.op('pad', [mask], { paddings, mode: 'constant', constantValue: 0 });
      if (mask.dtype !== 'bool') mask = n.op('where', [n.op('greater', [inside, zero]), mask, minusInf]);
    }
    bias = mask.dtype === 'bool' ? n.op('where', [mask, zero, minusInf]) : mask;
  }
  if (n.attr.int('is_causal', 0) === 1) {
    const causal = causalBias(n, capped, cachedLength(n, n.has(4) ? n.input(4) : undefined, 2), minusInf);
    bias = bias ? n.op('add', [bias, causal]) : causal;
  }
  const biased = bias ? n.op('add', [capped, bias]) : capped;
  const weights = n.op('softmax', [biased], { axis: -1 });
  let y = byHead(n.op('matmul', [byKvHead(weights), values], { transposeA: false, transposeB: false }));
  if (rank === 3) {
    const dv = y.shape[3] ?? n.unsupported('Attention needs the value head size known at import');
    y = withParams(n, 'onnx.Reshape', [n.op('transpose', [y], { perm: [0, 2, 1, 3] })], [int64Param(n, [0, 0, qHeads * dv])], { allowzero: false }).output(0);
  }
  // the scores before the mask (softcapped: mode 0 too, as the reference gives them), after it, or the weights
  const mode = n.attr.int('qk_matmul_output_mode', 0);
  const qk = [capped, capped, biased, weights][mode] ?? n.fail(`qk_matmul_output_mode ${mode} is not 0, 1, 2 or 3`);
  return [y, keys, values, qk].slice(0, Math.max(1, n.outputCount));
});

/** What onnxruntime's MultiHeadAttention and contrib Attention share once the heads are split. */
interface ContribAttention {
  /** [B, N, S, H], [B, N, T, H] (the cache prepended) and [B, N, T, Hv]. */
  q: SymbolicTensor;
  k: SymbolicTensor;
  v: SymbolicTensor;
  heads: number;
  /** Cached keys before this call's (T - S), for the unidirectional mask. */
  past: Param;
  /** 0: 1 / sqrt(H). */
  scale: number;
  filterValue: number;
  unidirectional: boolean;
  attentionBias?: SymbolicTensor;
  /** Kept keys: 1 / 0 per key [B, T] or per query and key [B, S, T], or each row's key count [B]. */
  keyMask?: SymbolicTensor;
}

/**
 * softmax(Q K^T * scale + bias) V, then [B, S, N * Hv]. The bias sums the attention bias, filterValue
 * where the key mask drops a key, and filterValue above the diagonal (shifted by the cached length)
 * when unidirectional: onnxruntime adds mask_filter_value, not -inf.
 */
function contribAttention(n: OnnxNode, a: ContribAttention): SymbolicTensor {
  const headSize = a.q.shape[3] ?? n.unsupported('attention needs the head size known at import');
  const scores = n.op('mul', [n.op('matmul', [a.q, a.k], { transposeA: false, transposeB: true }), scalarOf(n, a.scale || 1 / Math.sqrt(headSize), a.q.dtype)]);
  const filter = scalarOf(n, a.filterValue, a.q.dtype);
  const zero = scalarOf(n, 0, a.q.dtype);
  const terms: SymbolicTensor[] = a.attentionBias ? [a.attentionBias] : [];
  if (a.keyMask) {
    const mask = a.keyMask;
    let keep: SymbolicTensor;
    if (mask.rank === 1) {
      const total = a.k.shape[2] ?? n.unsupported('a mask of key counts needs the key count known at import');
      if (mask.shape[0] !== null && a.q.shape[0] !== null && mask.shape[0] !== a.q.shape[0]) n.unsupported('a mask of key ends and starts ([2B]) is not supported');
      // each row's key count: keys j < count kept
      const positions = n.constant(tensor(Array.from({ length: total }, (_, j) => j), [1, total], mask.dtype));
      keep = n.op('less', [positions, n.op('reshape', [mask], { shape: [-1, 1] })]);
    } else if (mask.rank === 2 || mask.rank === 3) keep = n.op('greater', [mask, scalarOf(n, 0, mask.dtype)]);
    else return n.unsupported(`a key mask of rank ${mask.rank} is not supported`);
    // [B, 1, 1, T] or [B, 1, S, T] beside the heads
    const additive = n.op('where', [keep, zero, filter]);
    terms.push(n.op('expandDims', [keep.rank === 2 ? n.op('expandDims', [additive], { axis: 1 }) : additive], { axis: 1 }));
  }
  if (a.unidirectional) terms.push(causalBias(n, scores, a.past, filter));
  const biased = terms.reduce((sum, t) => n.op('add', [sum, t]), scores);
  const y = n.op('matmul', [n.op('softmax', [biased], { axis: -1 }), a.v], { transposeA: false, transposeB: false });
  const valueHead = y.shape[3] ?? n.unsupported('attention needs the value head size known at import');
  return withParams(n, 'onnx.Reshape', [n.op('transpose', [y], { perm: [0, 2, 1, 3] })], [int64Param(n, [0, 0, a.heads * valueHead])], { allowzero: false }).output(0);
}

/**
 * onnxruntime's MultiHeadAttention (com.microsoft): [B, S, D] queries over num_heads heads, keys and
 * values [B, L, D] (plus `bias` [D + D + Dv] on the three, and past_key / past_value prepended) or
 * already split into heads, [B, N, L, H]; the key padding mask is per key [B, T] or each row's key
 * count [B]. Packed QKV or KV inputs and the shared-buffer cache inputs are not read.
 */
defineOnnxOp(
  'MultiHeadAttention',
  (n) => {
    if (n.has(8) || n.has(9)) n.unsupported('past_sequence_length and cache_indirection (shared-buffer caches) are not supported');
    const heads = n.attr.int('num_heads');
    const query = n.input(0);
    if (query.rank !== 3) n.unsupported(`a query of rank ${query.rank} (packed QKV) is not supported`);
    if (!n.has(1) || !n.has(2)) n.unsupported('packed QKV (no key and value inputs) is not supported');
    const [key, value] = [n.input(1), n.input(2)];
    if (key.rank === 5) n.unsupported('packed KV is not supported');
    if (n.has(3) && key.rank !== 3) n.unsupported('a bias with keys and values already split into heads is not supported');
    const width = (t: SymbolicTensor, what: string) => t.shape[2] ?? n.unsupported(`MultiHeadAttention needs the ${what} width known at import`);
    const [dq, dk, dv] = [width(query, 'query'), key.rank === 3 ? width(key, 'key') : 0, value.rank === 3 ? width(value, 'value') : 0];
    // bias [D + D + Dv]: the query's, the key's and the value's, each added before the heads split
    const biased = (t: SymbolicTensor, from: number, size: number) =>
      n.has(3) ? n.op('add', [t, n.op('slice', [n.input(3)], { begin: [from], size: [size] })]) : t;
    const q = headsFirst(n, biased(query, 0, dq), heads, 'query');
    let k = key.rank === 3 ? headsFirst(n, biased(key, dq, dk), heads, 'key') : key;
    let v = value.rank === 3 ? headsFirst(n, biased(value, dq + dk, dv), heads, 'value') : value;
    if (n.has(6)) k = n.op('concat', [n.input(6), k], { axis: 2 });
    if (n.has(7)) v = n.op('concat', [n.input(7), v], { axis: 2 });
    const y = contribAttention(n, {
      q,
      k,
      v,
      heads,
      past: cachedLength(n, n.has(6) ? n.input(6) : undefined, 2),
      scale: n.attr.float('scale', 0),
      filterValue: n.attr.float('mask_filter_value', -10000),
      unidirectional: n.attr.int('unidirectional', 0) === 1,
      attentionBias: n.has(5) ? n.input(5) : undefined,
      keyMask: n.has(4) ? n.input(4) : undefined,
    });
    return [y, k, v].slice(0, Math.max(1, n.outputCount));
  },
  'com.microsoft',
);

/**
 * onnxruntime's contrib Attention (com.microsoft), as its BERT and GPT-2 optimizations write it:
 * Q, K and V from one product, x W + bias ([hidden, q + k + v hidden], split by qkv_hidden_sizes or
 * in thirds), over num_heads heads; mask_index per key [B, T], per query and key [B, S, T], or each
 * row's key count [B]; `past` [2, B, N, P, H] holding the cached keys and values, and `present` the
 * same with this call's appended.
 */
defineOnnxOp(
  'Attention',
  (n) => {
    if (n.has(6) || n.attr.int('past_present_share_buffer', 0) || n.attr.int('do_rotary', 0)) n.unsupported('shared-buffer caches and do_rotary are not supported');
    const x = n.input(0);
    const heads = n.attr.int('num_heads');
    const projected = n.has(2) ? n.op('add', [n.op('matmul', [x, n.input(1)], { transposeA: false, transposeB: false }), n.input(2)]) : n.op('matmul', [x, n.input(1)], { transposeA: false, transposeB: false });
    const total = projected.shape[2] ?? n.unsupported('Attention needs the weights known in size at import');
    const sizes = n.attr.ints('qkv_hidden_sizes', [total / 3, total / 3, total / 3]);
    if (sizes.length !== 3 || sizes[0] + sizes[1] + sizes[2] !== total || sizes[0] !== sizes[1]) n.fail(`qkv_hidden_sizes [${sizes.join(', ')}] do not split ${total} columns into Q, K and V with Q and K alike`);
    const part = (from: number, size: number, what: string) => headsFirst(n, n.op('slice', [projected], { begin: [0, 0, from], size: [-1, -1, size] }), heads, what);
    let k = part(sizes[0], sizes[1], 'K');
    let v = part(sizes[0] + sizes[1], sizes[2], 'V');
    const past = n.has(4) ? n.input(4) : undefined;
    if (past) {
      const half = (i: number) => n.op('squeeze', [n.op('slice', [past], { begin: [i, 0, 0, 0, 0], size: [1, -1, -1, -1, -1] })], { axes: [0] });
      k = n.op('concat', [half(0), k], { axis: 2 });
      v = n.op('concat', [half(1), v], { axis: 2 });
    }
    const y = contribAttention(n, {
      q: part(0, sizes[0], 'Q'),
      k,
      v,
      heads,
      past: cachedLength(n, past, 3),
      scale: n.attr.float('scale', 0),
      filterValue: n.attr.float('mask_filter_value', -10000),
      unidirectional: n.attr.int('unidirectional', 0) === 1,
      attentionBias: n.has(5) ? n.input(5) : undefined,
      keyMask: n.has(3) ? n.input(3) : undefined,
    });
    const present = () => n.op('concat', [n.op('expandDims', [k], { axis: 0 }), n.op('expandDims', [v], { axis: 0 })], { axis: 0 });
    return n.outputCount > 1 ? [y, present()] : [y];
  },
  'com.microsoft',
);
