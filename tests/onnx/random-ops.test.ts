/**
 * ONNX's random ops and training-mode Dropout at import. Their values cannot match ONNX's test data
 * (numpy's generator), so these check what does hold: ranges, distributions over many samples,
 * the seed's reproducibility across sessions, and Dropout's keep-or-scale rule and mask.
 */
import { Graph, Session, TensorValue, UnsupportedOpError, importOnnx, tensor } from 'graphc';
import { ModelSpec, buildModel } from './onnx-builder';

function load(spec: ModelSpec) {
  return importOnnx(buildModel(spec), { file: 'random.onnx' });
}

async function runOnce(graph: Graph, outputs: string[], feeds: Record<string, TensorValue> = {}): Promise<number[][]> {
  const values = await new Session(graph).run(outputs, feeds);
  return values.map((v) => Array.from(v.data as ArrayLike<number>));
}

const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((v) => (v - mean(xs)) ** 2)));

test('RandomUniform and RandomNormal: range, moments, dtype, and a seed that replays in a new session', async () => {
  const { graph, signature } = load({
    inputs: [],
    outputs: [{ name: 'u', elemType: 11 }, { name: 'z' }],
    nodes: [
      { op: 'RandomUniform', inputs: [], outputs: ['u'], attrs: { shape: [4000], low: { f: -2 }, high: { f: 3 }, dtype: 11, seed: { f: 7 } } },
      { op: 'RandomNormal', inputs: [], outputs: ['z'], attrs: { shape: [4000], mean: { f: 1 }, scale: { f: 2 }, seed: { f: 8 } } },
    ],
  });
  expect(graph.tensor(signature.outputs[0]).dtype).toBe('float64');
  expect(graph.tensor(signature.outputs[1]).dtype).toBe('float32');
  const [u, z] = await runOnce(graph, signature.outputs);
  expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
  expect(Math.max(...u)).toBeLessThan(3);
  expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.1);
  expect(Math.abs(mean(z) - 1)).toBeLessThan(0.15);
  expect(Math.abs(std(z) - 2)).toBeLessThan(0.15);
  // the same seed in a fresh session draws the same values; a second run of one session draws new ones
  expect((await runOnce(graph, signature.outputs))[0]).toEqual(u);
  const session = new Session(graph);
  const [first] = await session.run([signature.outputs[0]]);
  const [second] = await session.run([signature.outputs[0]]);
  expect(Array.from(second.data)).not.toEqual(Array.from(first.data));
});

test("RandomUniformLike takes its input's shape; Bernoulli draws 1 with probability p", async () => {
  const n = 4000;
  const p = Array.from({ length: n }, (_, i) => [0, 1, 0.2, 0.9][i % 4]);
  const { graph, signature } = load({
    inputs: [{ name: 'p', shape: [n] }],
    outputs: [{ name: 'like' }, { name: 'b', elemType: 6 }],
    nodes: [
      { op: 'RandomUniformLike', inputs: ['p'], outputs: ['like'] },
      { op: 'Bernoulli', inputs: ['p'], outputs: ['b'], attrs: { dtype: 6 } },
    ],
  });
  const [like, b] = await runOnce(graph, signature.outputs, { p: tensor(p, [n]) });
  expect(like).toHaveLength(n);
  expect(graph.tensor(signature.outputs[1]).dtype).toBe('int32');
  const at = (k: number) => b.filter((_, i) => i % 4 === k);
  expect(at(0).every((v) => v === 0)).toBe(true);
  expect(at(1).every((v) => v === 1)).toBe(true);
  expect(Math.abs(mean(at(2)) - 0.2)).toBeLessThan(0.05);
  expect(Math.abs(mean(at(3)) - 0.9)).toBeLessThan(0.05);
});

describe('Dropout', () => {
  const x = Array.from({ length: 3000 }, (_, i) => Math.sin(i) + 2); // no zeros: a dropped value is visible
  const spec = (training: { runtime: true } | { value: boolean }): ModelSpec => ({
    inputs: [{ name: 'x', shape: [3000] }, { name: 'r', shape: [] }, ...('runtime' in training ? [{ name: 't', elemType: 9, shape: [] }] : [])],
    outputs: [{ name: 'y' }, { name: 'mask', elemType: 9 }],
    initializers: 'value' in training ? { t: tensor([training.value ? 1 : 0], [], 'bool') } : {},
    nodes: [{ op: 'Dropout', inputs: ['x', 'r', 't'], outputs: ['y', 'mask'], attrs: { seed: 3 } }],
  });

  test('in training each value is dropped or scaled by 1 / (1 - ratio), as the mask says, ratio and mode computed at run time', async () => {
    const { graph, signature } = load(spec({ runtime: true }));
    const feeds = (r: number, t: boolean) => ({ x: tensor(x, [3000]), r: tensor([r], []), t: tensor([t ? 1 : 0], [], 'bool') });
    const [y, mask] = await runOnce(graph, signature.outputs, feeds(0.3, true));
    y.forEach((v, i) => {
      if (mask[i]) expect(v).toBeCloseTo(x[i] / 0.7, 5);
      else expect(v).toBe(0);
    });
    expect(Math.abs(mean(mask) - 0.7)).toBeLessThan(0.04);
    // ratio 0 keeps everything; out of training it is the identity with an all-true mask
    for (const [r, t] of [[0, true], [0.3, false]] as const) {
      const [y2, mask2] = await runOnce(graph, signature.outputs, feeds(r, t));
      y2.forEach((v, i) => expect(v).toBeCloseTo(x[i], 5));
      expect(mask2.every((m) => m === 1)).toBe(true);
    }
  });

  test('a training mode known at import picks its branch; a bad ratio or an unknown shape is refused', async () => {
    const off = load(spec({ value: false }));
    expect(off.graph.nodes.some((node) => node.op === 'randomUniform')).toBe(false);
    const on = load(spec({ value: true }));
    const [y] = await runOnce(on.graph, on.signature.outputs, { x: tensor(x, [3000]), r: tensor([0.5], []) });
    expect(y.filter((v) => v === 0).length).toBeGreaterThan(1200);
    const unknown: ModelSpec = { ...spec({ value: true }), inputs: [{ name: 'x', shape: ['n'] }, { name: 'r', shape: [] }] };
    expect(() => load(unknown)).toThrow(UnsupportedOpError);
    expect(() => load(unknown)).toThrow(/random\.onnx': node 'n0' \(Dropout\): the shape \[null\] must be known at import/);
    const bad: ModelSpec = { ...spec({ value: true }), initializers: { t: tensor([1], [], 'bool'), r: tensor([1], []) }, inputs: [{ name: 'x', shape: [3000] }] };
    expect(() => load(bad)).toThrow(/ratio must be in \[0, 1\), got 1/);
  });
});

test('Multinomial: sample_size indices per row of log-probabilities, in its dtype, with a replaying seed', async () => {
  const { graph, signature } = load({
    inputs: [{ name: 'logits', shape: [null, 3] }],
    outputs: [{ name: 'k', elemType: 7 }],
    nodes: [{ op: 'Multinomial', inputs: ['logits'], outputs: ['k'], attrs: { sample_size: 3000, dtype: 7, seed: { f: 2 } } }],
  });
  expect(graph.tensor(signature.outputs[0]).dtype).toBe('int64');
  const feeds = { logits: tensor([Math.log(0.6), Math.log(0.3), Math.log(0.1)], [1, 3]) };
  const [k] = await runOnce(graph, signature.outputs, feeds);
  expect(k).toHaveLength(3000);
  [0.6, 0.3, 0.1].forEach((p, c) => expect(Math.abs(k.filter((v) => v === c).length / 3000 - p)).toBeLessThan(0.04));
  expect((await runOnce(graph, signature.outputs, feeds))[0]).toEqual(k);
});
