import { SymbolicTensor } from '../../graph';
import { tensor } from '../../tensor';
import type { OnnxNode } from './context';
import { castTo, int64Param, scalarOf, withParams } from './helpers';
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
function headsFirst(n: OnnxNode, x: SymbolicTensor, heads: number, what: string): SymbolicTensor {
  const hidden = x.shape[2] ?? n.unsupported(`a 3-D ${what} needs its hidden size known at import`);
  if (!(heads > 0 && hidden % heads === 0)) n.fail(`${what}: ${heads} heads do not divide the hidden size ${hidden}`);
  const split = withParams(n, 'onnx.Reshape', [x], [int64Param(n, [0, 0, heads, hidden / heads])], { allowzero: false }).output(0);
  return n.op('transpose', [split], { perm: [0, 2, 1, 3] });
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
  // grouped-query attention: each key/value head serves qHeads / kvHeads query heads in a row
  const qHeads = q.shape[1] ?? n.unsupported('Attention needs the query head count known at import');
  const kvHeads = keys.shape[1] ?? n.unsupported('Attention needs the key/value head count known at import');
  if (qHeads % kvHeads) n.fail(`${qHeads} query heads are not a multiple of ${kvHeads} key/value heads`);
  const repeat = (t: SymbolicTensor) =>
    qHeads === kvHeads ? t : n.op('gather', [t, n.constant(tensor(Array.from({ length: qHeads }, (_, h) => Math.floor(h / (qHeads / kvHeads))), [qHeads], 'int32'))], { axis: 1 });
  const scores = n.op('matmul', [n.op('mul', [q, root]), n.op('mul', [repeat(keys), root])], { transposeA: false, transposeB: true });
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
    const past = n.has(4) ? n.input(4).shape[2] ?? n.unsupported('a causal mask after a cache of a length known only at run time') : 0;
    // keys j <= i + past for query i: the lower triangle of the [queries, keys] block, shifted
    const allowed = withParams(n, 'onnx.Trilu', [n.op('onesLike', [capped])], [int64Param(n, [past])], { upper: false }).output(0);
    const causal = n.op('where', [n.op('greater', [allowed, zero]), zero, minusInf]);
    bias = bias ? n.op('add', [bias, causal]) : causal;
  }
  const biased = bias ? n.op('add', [capped, bias]) : capped;
  const weights = n.op('softmax', [biased], { axis: -1 });
  let y = n.op('matmul', [weights, repeat(values)], { transposeA: false, transposeB: false });
  if (rank === 3) {
    const dv = y.shape[3] ?? n.unsupported('Attention needs the value head size known at import');
    y = withParams(n, 'onnx.Reshape', [n.op('transpose', [y], { perm: [0, 2, 1, 3] })], [int64Param(n, [0, 0, qHeads * dv])], { allowzero: false }).output(0);
  }
  // the scores before the mask (softcapped: mode 0 too, as the reference gives them), after it, or the weights
  const mode = n.attr.int('qk_matmul_output_mode', 0);
  const qk = [capped, capped, biased, weights][mode] ?? n.fail(`qk_matmul_output_mode ${mode} is not 0, 1, 2 or 3`);
  return [y, keys, values, qk].slice(0, Math.max(1, n.outputCount));
});

/**
 * onnxruntime's MultiHeadAttention (com.microsoft): softmax(Q K^T * scale + bias) V over num_heads
 * heads of [B, S, D] queries, with keys and values [B, L, D] (plus `bias` [D + D + Dv] on the three,
 * and past_key / past_value prepended) or already split into heads, [B, N, L, H]. The additive bias
 * sums attention_bias, the key padding mask (per key [B, T], or each row's key count [B]: the rest
 * get mask_filter_value) and, when unidirectional, mask_filter_value above the diagonal shifted by
 * the cached length. Packed QKV or KV inputs and the shared-buffer cache inputs are not read.
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
    const width = (t: SymbolicTensor, what: string) => t.shape[2] ?? n.unsupported(`MultiHeadAttention needs the ${what} width known at import`);
    const [dq, dk, dv] = [width(query, 'query'), key.rank === 3 ? width(key, 'key') : 0, value.rank === 3 ? width(value, 'value') : 0];
    // bias [D + D + Dv]: the query's, the key's and the value's, each added before the heads split
    const biased = (t: SymbolicTensor, from: number, size: number) =>
      n.has(3) ? n.op('add', [t, n.op('slice', [n.input(3)], { begin: [from], size: [size] })]) : t;
    if (n.has(3) && key.rank !== 3) n.unsupported('a bias with keys and values already split into heads is not supported');
    const q = headsFirst(n, biased(query, 0, dq), heads, 'query');
    let k = key.rank === 3 ? headsFirst(n, biased(key, dq, dk), heads, 'key') : key;
    let v = value.rank === 3 ? headsFirst(n, biased(value, dq + dk, dv), heads, 'value') : value;
    if (n.has(6)) k = n.op('concat', [n.input(6), k], { axis: 2 });
    if (n.has(7)) v = n.op('concat', [n.input(7), v], { axis: 2 });
    const headSize = q.shape[3] as number;
    const scale = n.attr.float('scale', 0) || 1 / Math.sqrt(headSize);
    const scores = n.op('mul', [n.op('matmul', [q, k], { transposeA: false, transposeB: true }), scalarOf(n, scale, q.dtype)]);
    const filter = scalarOf(n, n.attr.float('mask_filter_value', -10000), q.dtype);
    const zero = scalarOf(n, 0, q.dtype);
    const terms: SymbolicTensor[] = [];
    if (n.has(5)) terms.push(n.input(5));
    if (n.has(4)) {
      const mask = n.input(4);
      let keep: SymbolicTensor;
      if (mask.rank === 2) {
        keep = n.op('greater', [mask, scalarOf(n, 0, mask.dtype)]); // [B, T]
      } else if (mask.rank === 1) {
        // each row's key count: keys j < count kept
        const total = k.shape[2] ?? n.unsupported('a key-count mask needs the key count known at import');
        const positions = n.constant(tensor(Array.from({ length: total }, (_, j) => j), [1, total], mask.dtype));
        keep = n.op('less', [positions, n.op('reshape', [mask], { shape: [-1, 1] })]);
      } else return n.unsupported(`a key padding mask of rank ${mask.rank} is not supported`);
      const keys = keep.shape[1] ?? n.unsupported('a key padding mask needs its key count known at import');
      terms.push(n.op('reshape', [n.op('where', [keep, zero, filter])], { shape: [-1, 1, 1, keys] }));
    }
    if (n.attr.int('unidirectional', 0) === 1) {
      const past = n.has(6) ? n.input(6).shape[2] ?? n.unsupported('a unidirectional mask after a cache of a length known only at run time') : 0;
      const allowed = withParams(n, 'onnx.Trilu', [n.op('onesLike', [scores])], [int64Param(n, [past])], { upper: false }).output(0);
      terms.push(n.op('where', [n.op('greater', [allowed, zero]), zero, filter]));
    }
    const total = terms.reduce((sum, t) => n.op('add', [sum, t]), scores);
    const y = n.op('matmul', [n.op('softmax', [total], { axis: -1 }), v], { transposeA: false, transposeB: false });
    const dvHead = y.shape[3] ?? n.unsupported('MultiHeadAttention needs the value head size known at import');
    const out = withParams(n, 'onnx.Reshape', [n.op('transpose', [y], { perm: [0, 2, 1, 3] })], [int64Param(n, [0, 0, heads * dvHead])], { allowzero: false }).output(0);
    return [out, k, v].slice(0, Math.max(1, n.outputCount));
  },
  'com.microsoft',
);
