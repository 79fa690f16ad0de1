import { ShapeError } from '../../errors';
import { Attrs } from '../../opdef';

/** How tfIdfVectorizer weights a count: the count, the weight where it is positive, or their product. */
export type TfIdfMode = 'TF' | 'IDF' | 'TFIDF';
const MODES: readonly string[] = ['TF', 'IDF', 'TFIDF'];

/** One n-gram of a tfIdfVectorizer pool: its tokens, the output index its value adds to, its weight. */
export interface Ngram {
  tokens: number[];
  output: number;
  weight: number;
}

/** tfIdfVectorizer's attrs checked and unpacked: what every backend's kernel counts. */
export interface NgramTable {
  mode: TfIdfMode;
  minGramLength: number;
  maxGramLength: number;
  maxSkipCount: number;
  /** In pool order (grouped by length, shortest first). */
  ngrams: Ngram[];
  /** The output's last dimension: the largest output index plus one. */
  width: number;
}

const ints = (attrs: Attrs, key: string, where: string): number[] => {
  const v = attrs[key] ?? [];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) throw new ShapeError(`${where}attr '${key}' must be a list of integers`);
  return v as number[];
};

const count = (attrs: Attrs, key: string, least: number, where: string): number => {
  const v = Number(attrs[key]);
  if (!Number.isInteger(v) || v < least) throw new ShapeError(`${where}attr '${key}' must be an integer >= ${least}, got ${String(attrs[key])}`);
  return v;
};

/**
 * The n-grams of tfIdfVectorizer's ONNX-layout attrs: `pool` holds the 1-grams from
 * `ngramCounts[0]`, the 2-grams from `ngramCounts[1]`, and so on, each length up to the next start
 * (the last to the pool's end); `ngramIndexes` and `weights` (empty: ones) follow pool order.
 * Throws a ShapeError, prefixed by `where`, naming what does not fit.
 */
export function ngramTable(attrs: Attrs, where = ''): NgramTable {
  const mode = String(attrs.mode ?? 'TF');
  if (!MODES.includes(mode)) throw new ShapeError(`${where}mode must be ${MODES.join(', ')}, got '${mode}'`);
  const minGramLength = count(attrs, 'minGramLength', 1, where);
  const maxGramLength = count(attrs, 'maxGramLength', minGramLength, where);
  const maxSkipCount = count(attrs, 'maxSkipCount', 0, where);
  const pool = ints(attrs, 'pool', where);
  const starts = ints(attrs, 'ngramCounts', where);
  const indexes = ints(attrs, 'ngramIndexes', where);
  const weights = (attrs.weights ?? []) as number[];
  if (pool.length && starts[0] !== 0) throw new ShapeError(`${where}ngramCounts must start at 0 (the 1-grams' start in the pool), got [${starts.join(', ')}]`);
  const tokens: number[][] = [];
  starts.forEach((start, k) => {
    const end = k + 1 < starts.length ? starts[k + 1] : pool.length;
    const n = k + 1;
    if (start > end || end > pool.length || (end - start) % n) {
      throw new ShapeError(`${where}ngramCounts [${starts.join(', ')}] do not split the pool's ${pool.length} tokens into whole ${n}-grams (from ${start} to ${end})`);
    }
    for (let i = start; i < end; i += n) tokens.push(pool.slice(i, i + n));
  });
  const seen = new Set<string>();
  for (const t of tokens) {
    // onnxruntime refuses a repeated n-gram too: its count would have two homes
    const key = t.join(',');
    if (seen.has(key)) throw new ShapeError(`${where}the ${t.length}-gram [${t.join(', ')}] appears twice in the pool`);
    seen.add(key);
  }
  if (indexes.length !== tokens.length) throw new ShapeError(`${where}${indexes.length} ngramIndexes for the pool's ${tokens.length} n-grams`);
  if (indexes.some((i) => i < 0)) throw new ShapeError(`${where}ngramIndexes must be non-negative`);
  if (weights.length && weights.length !== tokens.length) throw new ShapeError(`${where}${weights.length} weights for the pool's ${tokens.length} n-grams`);
  const ngrams = tokens.map((t, i) => ({ tokens: t, output: indexes[i], weight: weights.length ? Number(weights[i]) : 1 }));
  return { mode: mode as TfIdfMode, minGramLength, maxGramLength, maxSkipCount, ngrams, width: indexes.length ? Math.max(...indexes) + 1 : 0 };
}
