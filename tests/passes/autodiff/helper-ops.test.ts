import { SymbolicTensor, checkGradients, ops, tensor } from 'graphc';
import { distinct, values } from './helpers';

/**
 * The gradient-only ops are differentiable too (gradients of gradients run through them): each is
 * checked as a function of its differentiable inputs, the reference input held fixed.
 */
describe('gradient-only helper ops pass checkGradients', () => {
  const away = (t: ReturnType<typeof values>) => tensor(Array.from(t.data, (v) => (Math.abs(v) < 0.05 ? v + 0.1 : v)), t.shape, 'float64');

  test('sumToShapeOf and broadcastToShapeOf', async () => {
    await checkGradients((x, like) => ops.sumToShapeOf(x, like), [values([2, 3, 4], 1), values([3, 1], 2)], { wrt: [0] });
    await checkGradients((x, like) => ops.broadcastToShapeOf(x, like), [values([3, 1], 3), values([2, 3, 4], 4)], { wrt: [0] });
  });

  test('reluGrad, relu6Grad, leakyReluGrad', async () => {
    const x = away(values([3, 4], 5, -2, 8));
    await checkGradients((dy, t) => ops.reluGrad(dy, t), [values([3, 4], 6), x], { wrt: [0] });
    await checkGradients((dy, t) => ops.relu6Grad(dy, t), [values([3, 4], 7), x], { wrt: [0] });
    await checkGradients((dy, t) => ops.leakyReluGrad(dy, t, 0.3), [values([3, 4], 8), x], { wrt: [0] });
  });

  test('reshapeToShapeOf, sliceGrad, gatherGrad, padGrad, tileGrad, stridedSliceGrad', async () => {
    await checkGradients((x, like) => ops.reshapeToShapeOf(x, like), [values([2, 6], 1), values([3, 4], 2)], { wrt: [0] });
    await checkGradients((dy, x) => ops.sliceGrad(dy, x, [1, 0], [2, -1]), [values([2, 3], 3), values([4, 3], 4)], { wrt: [0] });
    await checkGradients((dy, i, p) => ops.gatherGrad(dy, i, p, 0), [values([3, 2], 5), tensor([1, 1, 0], [3], 'int32'), values([2, 2], 6)], { wrt: [0] });
    await checkGradients((dy, x) => ops.padGrad(dy, x, [1, 1, 0, 2], 'reflect'), [values([5, 5], 7), values([3, 3], 8)], { wrt: [0] });
    await checkGradients((dy, x) => ops.tileGrad(dy, x, [2, 3]), [values([4, 6], 9), values([2, 2], 10)], { wrt: [0] });
    await checkGradients((dy, x) => ops.stridedSliceGrad(dy, x, [3, 0], [-2, 2], [2, 2]), [values([2, 2], 11), values([4, 4], 12)], { wrt: [0] });
  });

  const convAttrs = { strides: [2, 1], padding: 'SAME', dilations: [1, 1] };
  test('conv2d and depthwiseConv2d adjoints, in both operands', async () => {
    await checkGradients((dy, f, x) => ops.conv2dBackpropInput(dy, f, x, convAttrs), [values([2, 3, 4, 3], 1), values([3, 2, 2, 3], 2), values([2, 5, 4, 2], 3)], { wrt: [0, 1] });
    await checkGradients((x, dy, f) => ops.conv2dBackpropFilter(x, dy, f, convAttrs), [values([2, 5, 4, 2], 4), values([2, 3, 4, 3], 5), values([3, 2, 2, 3], 6)], { wrt: [0, 1] });
    await checkGradients((dy, f, x) => ops.depthwiseConv2dBackpropInput(dy, f, x, convAttrs), [values([1, 3, 4, 4], 7), values([3, 3, 2, 2], 8), values([1, 5, 4, 2], 9)], { wrt: [0, 1] });
    await checkGradients((x, dy, f) => ops.depthwiseConv2dBackpropFilter(x, dy, f, convAttrs), [values([1, 5, 4, 2], 10), values([1, 3, 4, 4], 11), values([3, 3, 2, 2], 12)], { wrt: [0, 1] });
  });

  const poolAttrs = { ksize: [3, 3], strides: [2, 2], padding: 'SAME' };
  test('maxPoolGrad, maxPoolGradGrad, avgPoolGrad', async () => {
    const x = distinct([2, 5, 5, 2], 13, 0.01);
    await checkGradients((dy, t) => ops.maxPoolGrad(dy, t, poolAttrs), [values([2, 3, 3, 2], 14), x], { wrt: [0] });
    await checkGradients((ddx, t) => ops.maxPoolGradGrad(ddx, t, poolAttrs), [values([2, 5, 5, 2], 15), x], { wrt: [0] });
    await checkGradients((dy, t) => ops.avgPoolGrad(dy, t, poolAttrs), [values([2, 3, 3, 2], 16), x], { wrt: [0] });
  });

  test('a second derivative through relu6 and leakyRelu (a penalty on the input gradient)', async () => {
    const { gradients } = await import('graphc');
    await checkGradients(
      (x: SymbolicTensor, w: SymbolicTensor) => {
        const y = ops.reduceSum(ops.mul(ops.relu6(ops.mul(x, w)), ops.leakyRelu(ops.add(x, w), 0.2)));
        const [dx] = gradients(y, [x]);
        return ops.reduceSum(ops.square(dx));
      },
      [away(values([4], 17, -2, 7)), away(values([4], 18, 0.5, 1.5))],
    );
  });
});
