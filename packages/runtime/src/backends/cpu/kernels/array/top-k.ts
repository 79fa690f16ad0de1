import { registerCpuKernel } from '../../kernel';

/** Up to this k, one selection pass per row (O(dim) for random data); beyond it, a sort. */
const SELECT_MAX_K = 64;

/** topK: per row along the axis, the first k of a stable order of the values (NaN counts as largest). */
registerCpuKernel('topK', ([x], attrs, ctx) => {
  const rank = x.shape.length;
  const a = Number(attrs.axis ?? -1);
  const axis = a < 0 ? a + rank : a;
  const k = Number(attrs.k);
  const largest = attrs.largest !== false;
  const dim = x.shape[axis];
  const outShape = x.shape.map((d, i) => (i === axis ? k : d));
  const values = ctx.alloc(x.dtype, outShape);
  const indices = ctx.alloc('int64', outShape);
  const inner = x.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const outer = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const key = (v: number): number => (Number.isNaN(v) ? Infinity : v);
  // the order: a better key first (NaN as the largest), equal keys by index
  const better = largest ? (a: number, b: number): boolean => a > b : (a: number, b: number): boolean => a < b;
  const bestKeys = new Float64Array(k);
  const bestIdx = new Int32Array(k);
  const order = new Array<number>(dim);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * dim * inner + i;
      const outBase = o * k * inner + i;
      if (k <= SELECT_MAX_K) {
        // one pass keeping the k best in order: an element enters only if strictly better than the
        // worst kept, and goes after every kept one at least as good (so ties keep index order)
        let count = 0;
        for (let j = 0; j < dim; j++) {
          const v = key(x.data[base + j * inner]);
          if (count === k && !better(v, bestKeys[k - 1])) continue;
          let p = count < k ? count++ : k - 1;
          for (; p > 0 && better(v, bestKeys[p - 1]); p--) {
            bestKeys[p] = bestKeys[p - 1];
            bestIdx[p] = bestIdx[p - 1];
          }
          bestKeys[p] = v;
          bestIdx[p] = j;
        }
        for (let j = 0; j < k; j++) {
          values.data[outBase + j * inner] = x.data[base + bestIdx[j] * inner];
          indices.data[outBase + j * inner] = bestIdx[j];
        }
        continue;
      }
      for (let j = 0; j < dim; j++) order[j] = j;
      order.sort((p, q) => {
        const vp = key(x.data[base + p * inner]);
        const vq = key(x.data[base + q * inner]);
        if (vp === vq) return p - q;
        return largest ? (vq > vp ? 1 : -1) : vp > vq ? 1 : -1;
      });
      for (let j = 0; j < k; j++) {
        values.data[outBase + j * inner] = x.data[base + order[j] * inner];
        indices.data[outBase + j * inner] = order[j];
      }
    }
  }
  return [values, indices];
});
