import { ops } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/**
 * einsum: one loop over every label (output labels outer, summed labels inner); each input is read
 * through per-label strides (a label repeated within an input, as in 'ii', adds its strides: a
 * diagonal). Broadcast '...' dimensions are expanded into labels of their own first.
 */
registerCpuKernel('einsum', (inputs, attrs, ctx) => {
  const spec = ops.parseEinsum(String(attrs.equation), inputs.map((i) => i.shape.length));
  const { ellipsis } = ops.einsumDims(spec, inputs.map((i) => i.shape));
  // name the ellipsis dimensions with characters no equation uses
  const ell = ellipsis.map((_, i) => String.fromCharCode(0x100 + i));
  const expand = (term: string, rank: number): string[] => {
    const star = term.indexOf('*');
    if (star < 0) return [...term];
    const n = rank - (term.length - 1);
    return [...term.slice(0, star), ...ell.slice(ell.length - n), ...term.slice(star + 1)];
  };
  const terms = spec.inputs.map((t, i) => expand(t, inputs[i].shape.length));
  const outLabels = expand(spec.output, spec.output.replace('*', '').length + ell.length);
  const size = new Map<string, number>();
  terms.forEach((t, i) => t.forEach((ch, d) => size.set(ch, Math.max(size.get(ch) ?? 1, inputs[i].shape[d]))));
  const sumLabels = [...size.keys()].filter((ch) => !outLabels.includes(ch));
  const labels = [...outLabels, ...sumLabels];
  const dims = labels.map((ch) => size.get(ch)!);
  const strides = inputs.map((x, i) => {
    const own = x.shape.map((_, d) => x.shape.slice(d + 1).reduce((p, s) => p * s, 1));
    return labels.map((ch) => terms[i].reduce((s, c, d) => (c === ch && x.shape[d] !== 1 ? s + own[d] : s), 0));
  });
  const outShape = outLabels.map((ch) => size.get(ch)!);
  const out = ctx.alloc(inputs[0].dtype, outShape);
  const outCount = out.data.length;
  const sumCount = sumLabels.reduce((p, ch) => p * size.get(ch)!, 1);
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
