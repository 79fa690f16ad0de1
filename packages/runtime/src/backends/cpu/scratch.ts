/**
 * A kernel's scratch buffer in a product's precision (float32 for float32, float64 for anything
 * else), at least `size` values, kept at its largest across calls: a fresh buffer of megabytes costs
 * its page faults on every run (half a millisecond for the 1 MB of gate rows of an LSTM of hidden
 * size 128 over 32 steps of batch 16, one-off measurement). A kernel holds it for one call.
 */
export type Scratch = (dtype: string, size: number) => Float32Array | Float64Array;

/** A scratch of its own for one kernel family (two families never share one: each may hold it across the other's calls). */
export function kernelScratch(): Scratch {
  let float32 = new Float32Array(0);
  let float64 = new Float64Array(0);
  return (dtype, size) => {
    if (dtype === 'float32') {
      if (float32.length < size) float32 = new Float32Array(size);
      return float32;
    }
    if (float64.length < size) float64 = new Float64Array(size);
    return float64;
  };
}
