import { ops } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/**
 * einsum: one loop over every label (output labels outer, summed labels inner); each input is read
 * through per-label strides (ops.einsumLoops: a label repeated within an input, as in 'ii', adds its
 * strides, a diagonal; broadcast '...' dimensions are labels of their own).
 */
registerCpuKernel('einsum', (inputs, attrs, ctx) => {
  const { labels, dims, outLabels, strides } = ops.einsumLoops(String(attrs.equation), inputs.map((i) => i.shape));
  const outShape = dims.slice(0, outLabels.length);
  const out = ctx.alloc(inputs[0].dtype, outShape);
  const outCount = out.data.length;
  const sumCount = dims.slice(outLabels.length).reduce((p, n) => p * n, 1);
  const idx = new Array<number>(labels.length).fill(0);
  const nOut = outLabels.length;
  for (let o = 0; o < outCount; o++) {
    let acc = 0;
    for (let s = 0; s < sumCount; s++) {
      let prod = 1;
      for (let i = 0; i < inputs.length; i++) {
        let off = 0;
        const st = strides[i];
        for (let l = 0; l < labels.length; l++) off += idx[l] * st[l];
        prod *= inputs[i].data[off];
      }
      acc += prod;
      for (let l = labels.length - 1; l >= nOut; l--) {
        if (++idx[l] < dims[l]) break;
        idx[l] = 0;
      }
    }
    out.data[o] = acc;
    for (let l = nOut - 1; l >= 0; l--) {
      if (++idx[l] < dims[l]) break;
      idx[l] = 0;
    }
  }
  return [out];
});
