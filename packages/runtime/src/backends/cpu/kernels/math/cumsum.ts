import { registerCpuKernel } from '../../kernel';

/** cumSum: running sums along the axis (from the end with `reverse`, excluding self with `exclusive`). */
registerCpuKernel('cumSum', ([x], attrs, ctx) => {
  const rank = x.shape.length;
  const a = Number(attrs.axis ?? 0);
  const axis = a < 0 ? a + rank : a;
  const exclusive = attrs.exclusive === true;
  const reverse = attrs.reverse === true;
  const out = ctx.alloc(x.dtype, x.shape);
  const dim = x.shape[axis];
  const inner = x.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const outer = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * dim * inner + i;
      let sum = 0;
      for (let s = 0; s < dim; s++) {
        const j = reverse ? dim - 1 - s : s;
        const v = x.data[base + j * inner];
        if (exclusive) {
          out.data[base + j * inner] = sum;
          sum += v;
        } else {
          sum += v;
          out.data[base + j * inner] = sum;
        }
      }
    }
  }
  return [out];
});
