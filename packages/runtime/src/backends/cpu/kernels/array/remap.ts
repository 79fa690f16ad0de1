import { TensorValue, TypedArray, stridesOf } from '@graphc/graph';

/**
 * Output element [j0, j1, ...] = input[maps[0][j0], maps[1][j1], ...], or `fill` where any map holds
 * -1: the shared core of pad (all modes) and tile. The maps are per dimension (a few small arrays
 * per run), so the per-element work is one indexed read.
 *
 * Trailing dimensions the maps leave unchanged are copied as contiguous blocks, so padding H and W
 * of an NHWC tensor moves whole C-vectors at a time.
 */
export function remapInto(x: TensorValue, outShape: readonly number[], maps: Int32Array[], fill: number, dst: TypedArray): void {
  const rank = outShape.length;
  if (dst.length === 0) return;
  if (rank === 0) {
    dst[0] = x.data[0];
    return;
  }
  const isIdentity = (d: number): boolean => {
    if (outShape[d] !== x.shape[d]) return false;
    const m = maps[d];
    for (let j = 0; j < m.length; j++) if (m[j] !== j) return false;
    return true;
  };
  let k = rank;
  while (k > 0 && isIdentity(k - 1)) k--;
  if (k === 0) {
    dst.set(x.data);
    return;
  }
  const src = x.data;
  const strides = stridesOf(x.shape);
  let block = 1;
  for (let d = k; d < rank; d++) block *= x.shape[d];
  const last = k - 1;
  const n = outShape[last];
  // the last mapped dimension as runs: a run of consecutive source indices is one contiguous copy
  // (strides[last] is `block`), a run of -1s one fill
  const runs = runsOf(maps[last]);
  const idx = new Array<number>(last).fill(0);
  let rows = 1;
  for (let d = 0; d < last; d++) rows *= outShape[d];
  let p = 0;
  for (let r = 0; r < rows; r++) {
    // source offset of this row, or -1 when an outer dimension is padding
    let base = 0;
    for (let d = 0; d < last; d++) {
      const m = maps[d][idx[d]];
      if (m < 0) {
        base = -1;
        break;
      }
      base += m * strides[d];
    }
    if (base < 0) {
      dst.fill(fill, p, p + n * block);
      p += n * block;
    } else {
      for (let q = 0; q < runs.length; q += 2) {
        const count = runs[q] * block;
        const from = runs[q + 1];
        if (from < 0) dst.fill(fill, p, p + count);
        else {
          const s = base + from * block;
          if (count >= 32) dst.set(src.subarray(s, s + count), p);
          else for (let e = 0; e < count; e++) dst[p + e] = src[s + e];
        }
        p += count;
      }
    }
    for (let d = last - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
}

/**
 * Source index along one dimension of length `dim` for each position of that dimension padded by
 * `before` and `after`: -1 for constant padding, the mirrored index for 'reflect' (edge not repeated)
 * and 'symmetric' (edge repeated), the nearer end for 'edge', i mod dim for 'wrap'. pad reads through these maps and padGrad scatters back through
 * the same ones, so the two always agree on where each padded cell comes from.
 */
export function padMap(dim: number, before: number, after: number, mode: string): Int32Array {
  const map = new Int32Array(dim + before + after);
  for (let j = 0; j < map.length; j++) {
    let i = j - before;
    if (i < 0 || i >= dim) {
      if (mode === 'constant') i = -1;
      else if (mode === 'reflect') i = i < 0 ? -i : 2 * (dim - 1) - i;
      else if (mode === 'edge') i = i < 0 ? 0 : dim - 1;
      else if (mode === 'wrap') i = ((i % dim) + dim) % dim;
      else i = i < 0 ? -i - 1 : 2 * dim - 1 - i;
    }
    map[j] = i;
  }
  return map;
}

/** Source index along one dimension of length `dim` repeated `multiple` times (j mod dim): tile and tileGrad's map. */
export function tileMap(dim: number, multiple: number): Int32Array {
  const map = new Int32Array(dim * multiple);
  for (let j = 0; j < map.length; j++) map[j] = j % dim;
  return map;
}

/** [length, source start (or -1), ...] for maximal runs of consecutive indices (or of -1s) in `map`. */
function runsOf(map: Int32Array): number[] {
  const runs: number[] = [];
  for (let j = 0; j < map.length; ) {
    const from = map[j];
    let len = 1;
    while (j + len < map.length && (from < 0 ? map[j + len] < 0 : map[j + len] === from + len)) len++;
    runs.push(len, from);
    j += len;
  }
  return runs;
}
