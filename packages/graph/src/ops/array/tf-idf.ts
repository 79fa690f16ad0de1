import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike } from '../../graph';
import { Attrs } from '../../opdef';
import { registerOp } from '../../registry';
import { shapeToString } from '../../shape';
import { apply1 } from '../builder';
import { requireDType } from '../infer-helpers';
import { TfIdfMode, ngramTable } from './ngram-table';

/**
 * tfIdfVectorizer(tokens): ONNX TfIdfVectorizer over integer tokens, [C] or [N, C] -> float32
 * [width] or [N, width]. Counts, per row, how often each n-gram of the pool occurs: unigrams once per
 * position; longer n-grams once per start and per skip s in 0..maxSkipCount (items s + 1 apart), for
 * n from minGramLength to maxGramLength. Each n-gram's count is weighted by `mode` ('TF': the count;
 * 'IDF': its weight where the count is positive; 'TFIDF': count times weight) and added at its output
 * index. Attrs (ONNX's layout): `pool` (the n-grams' tokens, grouped by length), `ngramCounts` (where
 * each length starts in the pool), `ngramIndexes` (each n-gram's output index), `weights` (each
 * n-gram's; empty means ones), `mode`, `minGramLength`, `maxGramLength`, `maxSkipCount`.
 */
registerOp({
  name: 'tfIdfVectorizer',
  family: 'array',
  numInputs: 1,
  nonDifferentiableInputs: [0],
  infer: (ctx) => {
    requireDType(ctx, 0, ['int32', 'int64']);
    const { shape } = ctx.inputs[0];
    if (shape.length !== 1 && shape.length !== 2) throw new ShapeError(`${ctx.where}tokens must be [C] or [N, C], got ${shapeToString(shape)}`);
    const table = ngramTable(ctx.attrs, ctx.where);
    return [{ dtype: 'float32', shape: [...shape.slice(0, -1), table.width] }];
  },
});

export interface TfIdfOptions {
  /** The pool: each n-gram's tokens. */
  ngrams: number[][];
  /** Each n-gram's position in the output (default: its position in `ngrams`). Positions may repeat: their values add. */
  indexes?: number[];
  /** 'TF' (counts, the default), 'IDF' (the weight where the count is positive) or 'TFIDF' (count times weight). */
  mode?: TfIdfMode;
  /** Each n-gram's weight (default: ones). */
  weights?: number[];
  /** Shortest and longest n-gram counted (default: the pool's shortest and longest). */
  minGramLength?: number;
  maxGramLength?: number;
  /** Largest gap between consecutive items of an n-gram (default 0: adjacent items only). */
  maxSkipCount?: number;
}

/**
 * N-gram counts of integer token rows against a pool, weighted as TF, IDF or TF-IDF (ONNX
 * TfIdfVectorizer, scikit-learn's CountVectorizer/TfidfVectorizer after tokenization).
 *
 * ```ts
 * // [C] tokens -> [3]: counts of token 7, of 3 then 5, of 5 then 7
 * ops.tfIdfVectorizer(tokens, { ngrams: [[7], [3, 5], [5, 7]] });
 * ```
 */
export function tfIdfVectorizer(tokens: TensorLike, options: TfIdfOptions, name?: string): SymbolicTensor {
  const { ngrams } = options;
  if (!Array.isArray(ngrams) || ngrams.some((g) => !Array.isArray(g) || g.length === 0)) {
    throw new ShapeError('tfIdfVectorizer: ngrams must be a list of non-empty token lists');
  }
  const indexes = options.indexes ?? ngrams.map((_, i) => i);
  const weights = options.weights ?? [];
  if (indexes.length !== ngrams.length) throw new ShapeError(`tfIdfVectorizer: ${indexes.length} indexes for ${ngrams.length} ngrams`);
  if (weights.length && weights.length !== ngrams.length) throw new ShapeError(`tfIdfVectorizer: ${weights.length} weights for ${ngrams.length} ngrams`);
  // ONNX's layout: the pool grouped by length, shortest first (a stable sort keeps each n-gram's index)
  const order = ngrams.map((_, i) => i).sort((a, b) => ngrams[a].length - ngrams[b].length || a - b);
  const longest = Math.max(0, ...ngrams.map((g) => g.length));
  const ngramCounts: number[] = [];
  const pool: number[] = [];
  for (let n = 1; n <= longest; n++) {
    ngramCounts.push(pool.length);
    for (const i of order) if (ngrams[i].length === n) pool.push(...ngrams[i]);
  }
  const lengths = ngrams.map((g) => g.length);
  const attrs: Attrs = {
    mode: options.mode ?? 'TF',
    minGramLength: options.minGramLength ?? (lengths.length ? Math.min(...lengths) : 1),
    maxGramLength: options.maxGramLength ?? (lengths.length ? longest : 1),
    maxSkipCount: options.maxSkipCount ?? 0,
    pool,
    ngramCounts,
    ngramIndexes: order.map((i) => indexes[i]),
    weights: weights.length ? order.map((i) => weights[i]) : [],
  };
  return apply1('tfIdfVectorizer', [tokens], attrs, name);
}

