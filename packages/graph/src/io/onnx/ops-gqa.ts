import { SymbolicTensor } from '../../graph';
import { tensor } from '../../tensor';
import type { OnnxNode } from './context';
import { castTo, constParam, dimOf, int64Param, scalarOf, withParams } from './helpers';
import { defineOnnxOp } from './import';
import { groupedHeads, headsFirst } from './ops-attention';
import { rotaryEmbedding } from './ops-nn';

/**
 * onnxruntime's GroupQueryAttention (com.microsoft), the attention of its LLM exports
 * (onnxruntime-genai's Llama, Mistral, Phi-3, Qwen), composed from graphc ops as onnxruntime's CPU
 * kernel computes it. Its lengths arrive as tensors: row b holds seqlens_k[b] + 1 tokens in all; the
 * first prompt (S == total_sequence_length) caches nothing before its S tokens, any later call
 * caches seqlens_k[b] + 1 - S. The present cache is max(total_sequence_length, past length) long:
 * the row's cached tokens, its S new ones after them, zeros beyond. Query s of row b sees the keys
 * before min(cached + s + 1, seqlens_k[b] + 1), the last local_window_size of them when that is set.
 * Since those lengths are values, not shapes, the plan reads them at run time (a staged plan).
 */

const MS = 'com.microsoft';

/** 0 .. count - 1 as int64 (a constant when the count is known at import). */
function arange(n: OnnxNode, count: SymbolicTensor, known: number | null): SymbolicTensor {
  if (known !== null) return n.constant(tensor(Array.from({ length: known }, (_, i) => i), [known], 'int64'));
  const [zero, one] = [0, 1].map((v) => constParam(n, tensor([v], [], 'int64')));
  return withParams(n, 'onnx.Range', [], [zero, { tensor: count }, one], { dtype: 'int64' }).output(0);
}

/** query, key, value as [B, heads, S, D], from three inputs or one packed [B, S, (N + 2 Nkv) D]. */
function splitHeads(n: OnnxNode, heads: number, kvHeads: number): SymbolicTensor[] {
  const query = n.input(0);
  if (query.rank !== 3) n.fail(`query must be [B, S, hidden], got rank ${query.rank}`);
  if (n.has(1) !== n.has(2)) n.fail('key and value must both be given, or both left out (packed QKV in the query)');
  if (n.has(1)) return [headsFirst(n, query, heads, 'query'), headsFirst(n, n.input(1), kvHeads, 'key'), headsFirst(n, n.input(2), kvHeads, 'value')];
  const width = query.shape[2] ?? n.unsupported('packed QKV needs its width known at import');
  const headSize = width / (heads + 2 * kvHeads);
  if (!Number.isInteger(headSize)) n.fail(`packed QKV of width ${width} does not hold ${heads} + 2 x ${kvHeads} heads`);
  const part = (from: number, count: number, what: string) =>
    headsFirst(n, n.op('slice', [query], { begin: [0, 0, from * headSize], size: [-1, -1, count * headSize] }), count, what);
  return [part(0, heads, 'query'), part(heads, kvHeads, 'key'), part(heads + kvHeads, kvHeads, 'value')];
}

/**
 * The present cache [B, Nkv, T, D]: per row, present position t reads the past cache at t (before
 * the row's cached count), the new tokens at t - cached, or zeros; one gather over the rows of every
 * row and head laid end to end.
 */
function presentCache(n: OnnxNode, past: SymbolicTensor | undefined, fresh: SymbolicTensor, at: SymbolicTensor, batch: SymbolicTensor): SymbolicTensor {
  const zeros = n.op('zerosLike', [n.op('slice', [fresh], { begin: [0, 0, 0, 0], size: [-1, -1, 1, -1] })]);
  const source = n.op('concat', [...(past ? [past] : []), fresh, zeros], { axis: 2 }); // [B, Nkv, L = P + S + 1, D]
  const [kvHeads, headSize] = [fresh.shape[1] as number, fresh.shape[3] as number];
  const laidOut = n.op('reshape', [source], { shape: [-1, headSize] });
  // (b * Nkv + h) * L + at[b, t], as [B, Nkv, T]
  const rowsOf = n.op('reshape', [arange(n, batch, fresh.shape[0])], { shape: [-1, 1, 1] });
  const heads = n.constant(tensor(Array.from({ length: kvHeads }, (_, h) => h), [1, kvHeads, 1], 'int64'));
  const start = n.op('mul', [n.op('add', [n.op('mul', [rowsOf, scalarOf(n, kvHeads, 'int64')]), heads]), dimOf(n, source, 2)]);
  return n.op('gather', [laidOut, n.op('add', [start, n.op('expandDims', [at], { axis: 1 })])], { axis: 0 });
}

defineOnnxOp(
  'GroupQueryAttention',
  (n) => {
    const heads = n.attr.int('num_heads');
    const kvHeads = n.attr.int('kv_num_heads');
    if (!(heads > 0 && kvHeads > 0 && heads % kvHeads === 0)) n.fail(`num_heads ${heads} must be a positive multiple of kv_num_heads ${kvHeads}`);
    if (n.has(3) !== n.has(4)) n.fail('past_key and past_value must both be given or both left out');
    if (!n.has(5) || !n.has(6)) n.fail('seqlens_k and total_sequence_length are required');
    const query = n.input(0);
    let [q, k, v] = splitHeads(n, heads, kvHeads);
    const headSize = q.shape[3] as number;
    if (k.shape[2] === 0) n.unsupported('a key of no tokens (the shared cache already holding them) is not supported');
    const i64 = (value: number) => scalarOf(n, value, 'int64');
    const past = n.has(3) ? [n.input(3), n.input(4)] : undefined;

    // lengths, as int64: S new tokens, the cache's P, each row's total and cached count [B, 1]
    const newTokens = dimOf(n, query, 1);
    const total = n.op('reshape', [castTo(n, n.input(6), 'int64')], { shape: [] });
    const rowTotal = n.op('add', [n.op('reshape', [castTo(n, n.input(5), 'int64')], { shape: [-1, 1] }), i64(1)]);
    // a first prompt (S == total) has cached nothing: its rows' totals are at most S
    const cached = past ? n.op('maximum', [n.op('sub', [rowTotal, newTokens]), i64(0)]) : n.op('mul', [rowTotal, i64(0)]);
    const steps = n.op('expandDims', [arange(n, newTokens, query.shape[1])], { axis: 0 }); // [1, S]

    if (n.attr.int('do_rotary', 0) === 1) {
      if (!n.has(7) || !n.has(8)) n.fail('do_rotary needs cos_cache and sin_cache');
      const [cos, sin] = [n.input(7), n.input(8)];
      const half = cos.shape[1] ?? n.unsupported('do_rotary needs the cos cache width known at import');
      // position ids [B, S]: given, or the row's cached count on (onnxruntime's cpu kernel numbers a
      // padded prompt's extra tokens on too)
      const positions = n.has(9) ? castTo(n, n.input(9), 'int64') : n.op('add', [cached, steps]);
      const rotary = { cos, sin, positions, rotaryDim: 2 * half, interleaved: n.attr.int('rotary_interleaved', 0) === 1 };
      q = rotaryEmbedding(n, q, { ...rotary, heads });
      k = rotaryEmbedding(n, k, { ...rotary, heads: kvHeads });
    }

    // the present caches, max(total, P) long; `at` [B, T] says where each present position reads
    const cacheLength = past ? dimOf(n, past[0], 2) : i64(0);
    const presentLength = n.op('maximum', [total, cacheLength]);
    const slots = n.op('expandDims', [arange(n, presentLength, null)], { axis: 0 }); // [1, T]
    const afterCache = n.op('add', [cached, newTokens]);
    const at = n.op('where', [
      n.op('less', [slots, cached]),
      slots,
      n.op('where', [n.op('less', [slots, afterCache]), n.op('sub', [n.op('add', [slots, cacheLength]), cached]), n.op('add', [cacheLength, newTokens])]),
    ]);
    const batch = dimOf(n, query, 0);
    const presentKey = presentCache(n, past?.[0], k, at, batch);
    const presentValue = presentCache(n, past?.[1], v, at, batch);

    // the query heads sharing a key/value head as that head's rows: each cache read once per key/value head
    const { byKvHead, byHead } = groupedHeads(n, heads, kvHeads);

    // scores [B, N, S, T], softcapped, then the attention bias added
    const scale = n.attr.float('scale', 0) || 1 / Math.sqrt(headSize);
    let scores = n.op('mul', [byHead(n.op('matmul', [byKvHead(q), presentKey], { transposeA: false, transposeB: true })), scalarOf(n, scale, q.dtype)]);
    const softcap = n.attr.float('softcap', 0);
    if (softcap > 0) {
      const cap = scalarOf(n, softcap, q.dtype);
      scores = n.op('mul', [n.op('tanh', [n.op('div', [scores, cap])]), cap]);
    }
    if (n.has(10)) scores = n.op('add', [scores, n.input(10)]);

    // key j is visible to query s of row b when j < end = min(cached + s + 1, row total), and
    // j >= end - local_window_size when that is set
    const end = n.op('expandDims', [n.op('minimum', [n.op('add', [n.op('add', [cached, steps]), i64(1)]), rowTotal])], { axis: 2 }); // [B, S, 1]
    const keys = n.op('expandDims', [slots], { axis: 0 }); // [1, 1, T]
    let visible = n.op('less', [keys, end]);
    const window = n.attr.int('local_window_size', -1);
    if (window >= 0) visible = n.op('logicalAnd', [visible, n.op('greaterEqual', [keys, n.op('sub', [end, i64(window)])])]);
    visible = n.op('expandDims', [visible], { axis: 1 }); // [B, 1, S, T]
    const masked = n.op('where', [visible, scores, scalarOf(n, -Infinity, q.dtype)]);

    // softmax; with a sink (head_sink per head, or 0 for smooth_softmax) one more logit joins the
    // denominator only
    let weights: SymbolicTensor;
    if (n.has(11) || n.attr.int('smooth_softmax', 0) === 1) {
      const sink = n.has(11) ? n.op('reshape', [n.input(11)], { shape: [1, heads, 1, 1] }) : scalarOf(n, 0, q.dtype);
      const top = n.op('maximum', [n.op('reduceMax', [masked], { axes: [-1], keepDims: true }), sink]);
      const exps = n.op('exp', [n.op('sub', [masked, top])]);
      const denominator = n.op('add', [n.op('reduceSum', [exps], { axes: [-1], keepDims: true }), n.op('exp', [n.op('sub', [sink, top])])]);
      weights = n.op('div', [exps, denominator]);
    } else weights = n.op('softmax', [masked], { axis: -1 });

    const heading = n.op('transpose', [byHead(n.op('matmul', [byKvHead(weights), presentValue], { transposeA: false, transposeB: false }))], { perm: [0, 2, 1, 3] });
    const y = withParams(n, 'onnx.Reshape', [heading], [int64Param(n, [0, 0, heads * headSize])], { allowzero: false }).output(0);
    const outputs = [y, presentKey, presentValue];
    if (n.outputCount > 3) {
      // output_qk: the scores before the softmax (1) or the weights (2), 0 where masked, total_sequence_length wide
      const mode = n.attr.int('qk_output', 0);
      if (mode !== 1 && mode !== 2) n.fail(`output_qk needs qk_output 1 or 2, got ${mode}`);
      const qk = mode === 1 ? n.op('where', [visible, scores, scalarOf(n, 0, q.dtype)]) : weights;
      const width = n.op('reshape', [total], { shape: [1] });
      outputs.push(withParams(n, 'onnx.Slice', [qk], [int64Param(n, [0]), { tensor: width }, int64Param(n, [3]), int64Param(n, [1])]).output(0));
    }
    return outputs.slice(0, Math.max(1, n.outputCount));
  },
  MS,
);
