import { Graph, Session, gradients, ops, tensor } from 'graphc';
import { GpujsBackend } from '@graphc/runtime';
import { gpu } from '../../webgpu/helpers';
import { runInOrt } from '../../../scripts/conformance-harness';

/**
 * Dropout's gradient is dy times the factor the forward run drew (output 1 of the node), zeros of x
 * included: an element of x that is 0 still passes 1 / (1 - rate) of the gradient when it was kept.
 */
function dropoutGraph(dtype: 'float32' | 'float64', rate: number) {
  const g = new Graph();
  const x = g.placeholder(dtype, [600], 'x');
  const y = ops.dropout(x, rate, 11);
  const factor = y.node.output(1);
  const [dx] = gradients(ops.reduceSum(ops.mul(y, 3)), [x]);
  // every third element is exactly 0: where y / x cannot tell the mask
  const xv = tensor(Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? 0 : Math.sin(i) * 2)), [600], dtype);
  return { g, factor, dx, xv };
}

test('the gradient is 3 * factor everywhere, at x == 0 too', async () => {
  const { g, factor, dx, xv } = dropoutGraph('float64', 0.3);
  const s = new Session(g);
  const [f, d] = await s.run([factor, dx], { x: xv });
  let keptAtZero = 0;
  for (let i = 0; i < 600; i++) {
    expect([0, 1 / 0.7]).toContainEqual(f.data[i]);
    expect(d.data[i]).toBeCloseTo(3 * f.data[i], 12);
    if (xv.data[i] === 0 && f.data[i] !== 0) keptAtZero++;
  }
  // about 70% of the 200 zeros were kept: each must pass its gradient on
  expect(keptAtZero).toBeGreaterThan(110);
  expect(keptAtZero).toBeLessThan(170);
});

test('rate 0: the factor is 1 and the gradient passes unchanged', async () => {
  const { g, factor, dx, xv } = dropoutGraph('float64', 0);
  const [f, d] = await new Session(g).run([factor, dx], { x: xv });
  expect(Array.from(f.data).every((v) => v === 1)).toBe(true);
  expect(Array.from(d.data).every((v) => v === 3)).toBe(true);
});

const others: [string, () => Session['backend'] | 'webgpu'][] = [
  ['gpujs (cpu)', () => new GpujsBackend({ mode: 'cpu', onFallback: () => undefined })],
  ['gpujs (webasm)', () => new GpujsBackend({ mode: 'webasm', onFallback: () => undefined })],
  ...(gpu.available ? ([['webgpu', () => 'webgpu']] as [string, () => 'webgpu'][]) : []),
];

test.each(others)('%s draws the cpu backend factor and gradient, run after run', async (_label, make) => {
  const { g, factor, dx, xv } = dropoutGraph('float32', 0.4);
  const cpu = new Session(g);
  const other = new Session(g, { backend: make() as 'webgpu' });
  for (let run = 0; run < 2; run++) {
    const [wf, wd] = await cpu.run([factor, dx], { x: xv });
    const [gf, gd] = await other.run([factor, dx], { x: xv });
    expect(Array.from(gf.data)).toEqual(Array.from(wf.data));
    Array.from(wd.data).forEach((w, i) => expect(gd.data[i]).toBeCloseTo(w, 5));
  }
  cpu.close();
  other.close();
});

test('ONNX export (inference): the factor a gradient reads is 1, as for the exported identity', async () => {
  const { exportOnnx } = await import('graphc');
  const g = new Graph();
  const x = g.placeholder('float32', [2, 3], 'x');
  const y = ops.dropout(x, 0.5, 3);
  const out = ops.add(y, y.node.output(1), 'out');
  // onnxruntime in a child process (jest's realms confuse its typed-array checks)
  const [got] = await runInOrt(exportOnnx(g, { outputs: [out.name] }), { x: tensor([1, 2, 3, 4, 5, 6], [2, 3]) }, [out.name]);
  expect(Array.from(got.data)).toEqual([2, 3, 4, 5, 6, 7]);
});
