import { Attrs, NgramTable, ngramTable } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/** A trie of the pool's n-grams: following a row's tokens reaches the n-grams they spell. */
interface TrieNode {
  next: Map<number, TrieNode>;
  /** The pool position of the n-gram that ends here, or -1 (the pool lists each n-gram once). */
  id: number;
}

interface Counter {
  table: NgramTable;
  root: TrieNode;
}

// built once per node's attrs: vocabularies run to tens of thousands of n-grams
const counters = new WeakMap<object, Counter>();

function counterFor(attrs: Attrs, where: string): Counter {
  let c = counters.get(attrs);
  if (!c) {
    const table = ngramTable(attrs, where);
    const root: TrieNode = { next: new Map(), id: -1 };
    table.ngrams.forEach(({ tokens }, id) => {
      let node = root;
      for (const t of tokens) {
        let child = node.next.get(t);
        if (!child) node.next.set(t, (child = { next: new Map(), id: -1 }));
        node = child;
      }
      node.id = id;
    });
    c = { table, root };
    counters.set(attrs, c);
  }
  return c;
}

/**
 * tfIdfVectorizer: per row, every start position walks the trie: once for the 1-grams, then once per
 * skip for the longer n-grams (items skip + 1 apart), counting each n-gram reached within
 * [minGramLength, maxGramLength]; the counts are then weighted and added at their output indexes.
 */
registerCpuKernel('tfIdfVectorizer', ([x], attrs, ctx) => {
  const { table, root } = counterFor(attrs, `op 'tfIdfVectorizer' (node '${ctx.node.name}'): `);
  const { minGramLength: least, maxGramLength: most, maxSkipCount, ngrams, mode, width } = table;
  const length = x.shape[x.shape.length - 1];
  const rows = x.shape.length === 2 ? x.shape[0] : 1;
  const out = ctx.alloc('float32', [...x.shape.slice(0, -1), width]);
  const y = out.data as Float32Array;
  y.fill(0);
  const counts = new Float64Array(ngrams.length);
  const row = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    const tokens = (j: number) => Number(x.data[r * length + j]);
    counts.fill(0);
    for (let i = 0; i < length; i++) {
      const first = root.next.get(tokens(i));
      if (!first) continue;
      if (least <= 1 && first.id >= 0) counts[first.id]++;
      for (let step = 1; step <= maxSkipCount + 1; step++) {
        let node: TrieNode | undefined = first;
        for (let n = 2, j = i + step; n <= most && j < length; n++, j += step) {
          node = node.next.get(tokens(j));
          if (!node) break;
          if (n >= least && node.id >= 0) counts[node.id]++;
        }
      }
    }
    row.fill(0);
    ngrams.forEach(({ output, weight }, id) => {
      const c = counts[id];
      if (c) row[output] += mode === 'TF' ? c : mode === 'IDF' ? weight : c * weight;
    });
    y.set(row, r * width);
  }
  return [out];
});
