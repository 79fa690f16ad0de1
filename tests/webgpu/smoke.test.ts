import { Graph, WebGpuUnavailableError, gradients, ops, tensor } from 'graphc';
import { dawnFlags } from '../../packages/runtime/src/backends/webgpu/device';
import { checkOnGpu, describeGpu, expectClose, runBoth, seeded } from './helpers';

describeGpu('webgpu smoke', () => {
  test('elementwise chain with broadcasting matches the cpu', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 5], 'x');
    const b = g.placeholder('float32', [5], 'b');
    const y = ops.tanh(ops.mul(ops.add(x, b), 0.5));
    const { cpu, gpu, exe } = await runBoth(g, [y], { x: tensor(seeded(15, 1, 3), [3, 5]), b: tensor(seeded(5, 2), [5]) });
    expectClose(gpu[0], cpu[0]);
    expect(exe.fallbacks).toEqual([]);
  });
});

describeGpu('webgpu: the helpers built from ops', () => {
  test('stack, sort, argsort, reverse, moments, reduceLogSumExp, norm, clipByGlobalNorm and the losses match the cpu, all on the GPU', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 6], 'x');
    const y = g.placeholder('float32', [4, 6], 'y');
    const [clipped] = ops.clipByGlobalNorm([x, y], 3);
    const fetches = [
      ops.stack([x, y], 1),
      ops.sort(x, 1, true),
      ops.argsort(y, 0),
      ops.reverse(x, [0, 1]),
      ...ops.moments(x, 0),
      ops.reduceLogSumExp(y, 1),
      ops.norm(x, 1, 1),
      clipped[0],
      ops.losses.huber(y, x, 0.5),
      ops.losses.meanSquaredError(y, x),
      ops.silu(x),
    ];
    const feeds = { x: tensor(seeded(24, 7, 3), [4, 6]), y: tensor(seeded(24, 8, 2), [4, 6]) };
    const { cpu, gpu, exe } = await runBoth(g, fetches, feeds);
    cpu.forEach((c, i) => expectClose(gpu[i], c, 1e-4, 1e-2, `fetch ${i}`));
    expect(exe.fallbacks).toEqual([]);
  });
});

describe('GRAPHC_WEBGPU_DAWN_TOGGLES (no GPU needed)', () => {
  test('the matrix helpers (band part, diagonals, trace) and their gradients match the cpu', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 4, 3], 'x');
    const d = g.placeholder('float32', [2, 3], 'd');
    const outs = [ops.matrixBandPart(x, 1, 0), ops.matrixDiagPart(x), ops.trace(x), ops.matrixDiag(d), ops.matrixSetDiag(x, d)];
    const loss = outs.reduce((acc: ReturnType<typeof ops.trace>, o) => ops.add(acc, ops.reduceSum(ops.square(o))), ops.reduceSum(x));
    await checkOnGpu(g, [...outs, ...gradients(loss, [x, d])], { x: tensor(seeded(24, 13), [2, 4, 3]), d: tensor(seeded(6, 14), [2, 3]) }, ['where']);
  });

  test('tensordot, depthToSpace, spaceToDepth, separableConv2d and confusionMatrix match the cpu', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2, 4, 4, 8], 'x');
    const w = g.placeholder('float32', [4, 8, 3], 'w');
    const l = g.placeholder('int32', [6], 'l');
    const p = g.placeholder('int32', [6], 'p');
    const shuffled = ops.depthToSpace(x, 2);
    const outs = [
      ops.tensordot(x, w, [[2, 3], [0, 1]]),
      shuffled,
      ops.spaceToDepth(shuffled, 4),
      ops.separableConv2d(x, g.constant(tensor(seeded(72, 15), [3, 3, 8, 1])), g.constant(tensor(seeded(40, 16), [1, 1, 8, 5])), 1, 'SAME'),
      ops.confusionMatrix(l, p, 3, ops.cast(l, 'float32')),
    ];
    const feeds = { x: tensor(seeded(256, 17), [2, 4, 4, 8]), w: tensor(seeded(96, 18), [4, 8, 3]), l: tensor([0, 1, 2, 2, 1, 0], [6], 'int32'), p: tensor([0, 2, 2, 1, 1, 0], [6], 'int32') };
    await checkOnGpu(g, outs, feeds, ['matmul', 'transpose', 'depthwiseConv2d']);
  });

  test('a custom gradient (a straight-through round) gives the cpu value and gradient at O0 (its alias node) and O2 (removed)', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [4, 6], 'x');
    const w = g.placeholder('float32', [6, 3], 'w');
    const rounded = ops.customGradient((v) => ({ value: ops.round(v), gradient: (dy) => ops.mul(dy, ops.sigmoid(v)) }))(ops.mul(x, 3));
    const loss = ops.reduceSum(ops.square(ops.matmul(rounded, w)));
    const [dx, dw] = gradients(loss, [x, w]);
    await checkOnGpu(g, [rounded, loss, dx, dw], { x: tensor(seeded(24, 11), [4, 6]), w: tensor(seeded(18, 12), [6, 3]) }, ['matmul']);
  });

  test('toggle names become one enable-dawn-features flag; anything else is refused by name', () => {
    expect(dawnFlags('')).toEqual([]);
    expect(dawnFlags(' ')).toEqual([]);
    expect(dawnFlags('disable_robustness,disable_workgroup_init')).toEqual(['enable-dawn-features=disable_robustness,disable_workgroup_init']);
    expect(() => dawnFlags('disable_robustness, x')).toThrow(WebGpuUnavailableError);
    expect(() => dawnFlags('a;b')).toThrow(/GRAPHC_WEBGPU_DAWN_TOGGLES must be Dawn toggle names/);
  });
});
