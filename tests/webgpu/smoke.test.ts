import { Graph, ops, tensor } from 'graphc';
import { describeGpu, expectClose, runBoth, seeded } from './helpers';

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
