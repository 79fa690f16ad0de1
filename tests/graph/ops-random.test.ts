import { Graph, Session, TensorValue, getDefaultGraph, ops, tensor } from 'graphc';

function stats(v: TensorValue): { mean: number; std: number; min: number; max: number } {
  const d = Array.from(v.data);
  const mean = d.reduce((s, x) => s + x, 0) / d.length;
  const std = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / d.length);
  return { mean, std, min: Math.min(...d), max: Math.max(...d) };
}

describe('randomUniform', () => {
  test('floats fill [minval, maxval) with the uniform mean and spread', async () => {
    const g = new Graph();
    const r = ops.randomUniform([100, 100], 2, 5, 'float32', 7);
    expect(r.graph).toBe(g);
    expect(r.shape).toEqual([100, 100]);
    expect(r.dtype).toBe('float32');
    const v = await new Session(g).run(r);
    const s = stats(v);
    expect(s.min).toBeGreaterThanOrEqual(2);
    expect(s.max).toBeLessThan(5);
    // 10^4 samples: the mean's sd is 0.866 / 100
    expect(Math.abs(s.mean - 3.5)).toBeLessThan(0.05);
    expect(Math.abs(s.std - 3 / Math.sqrt(12))).toBeLessThan(0.02);
    // every tenth of the interval is hit about 1000 times
    const bins = new Array(10).fill(0);
    for (const x of v.data) bins[Math.floor(((x - 2) / 3) * 10)]++;
    for (const b of bins) expect(Math.abs(b - 1000)).toBeLessThan(150);
  });

  test('integers draw from [minval, maxval)', async () => {
    const g = new Graph();
    const r = ops.randomUniform([3000], -1, 2, 'int32', 3);
    const v = await new Session(g).run(r);
    expect(v.dtype).toBe('int32');
    const counts = new Map<number, number>();
    for (const x of v.data) counts.set(x, (counts.get(x) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([-1, 0, 1]);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(120);
  });

  test('a seeded op repeats its sequence in every new session; runs continue it', async () => {
    const g = new Graph();
    const r = ops.randomUniform([5], 0, 1, 'float64', 1234);
    const s1 = new Session(g);
    const a1 = Array.from((await s1.run(r)).data);
    const a2 = Array.from((await s1.run(r)).data);
    const s2 = new Session(g);
    expect(Array.from((await s2.run(r)).data)).toEqual(a1);
    expect(Array.from((await s2.run(r)).data)).toEqual(a2);
    expect(a2).not.toEqual(a1);
    // another graph with the same seed gives the same values; another seed does not
    const g2 = new Graph();
    const same = ops.randomUniform([5], 0, 1, 'float64', 1234);
    const other = ops.randomUniform([5], 0, 1, 'float64', 1235);
    const out = await new Session(g2).run([same, other]);
    expect(Array.from(out[0].data)).toEqual(a1);
    expect(Array.from(out[1].data)).not.toEqual(a1);
  });

  test('two consumers of one op in a run see the same draw', async () => {
    const g = new Graph();
    const r = ops.randomNormal([4], 0, 1, 'float32', 9);
    const doubled = ops.add(r, r);
    const [v, d] = await new Session(g).run([r, doubled]);
    expect(Array.from(d.data)).toEqual(Array.from(v.data, (x) => Math.fround(2 * x)));
  });

  test('is added to the default graph, or to the graph in the options', () => {
    const g1 = new Graph();
    const g2 = new Graph(); // now the default graph
    expect(getDefaultGraph()).toBe(g2);
    expect(ops.randomUniform([2]).graph).toBe(g2);
    const t = ops.truncatedNormal([2], 0, 1, 'float32', 1, { graph: g1, name: 'init' });
    expect(t.graph).toBe(g1);
    expect(t.name).toBe('init');
    expect(g1.node('init').op).toBe('truncatedNormal');
  });

  test('rejects bad arguments at build time', () => {
    new Graph();
    expect(() => ops.randomUniform([2], 3, 3, 'int32')).toThrow(/integer minval < maxval/);
    expect(() => ops.randomUniform([2], 0.5, 3, 'int32')).toThrow(/integer minval < maxval/);
    expect(() => ops.randomUniform([2], 3, 1)).toThrow(/minval 3 must not exceed maxval 1/);
    expect(() => ops.randomUniform([2, -1])).toThrow(/non-negative integers/);
    expect(() => ops.randomNormal([2], 0, 1, 'int32')).toThrow(/dtype must be float32 or float64/);
    expect(() => ops.randomNormal([2], 0, -1)).toThrow(/stddev must be non-negative/);
  });
});

describe('randomNormal and truncatedNormal', () => {
  test('randomNormal has the requested mean and standard deviation', async () => {
    const g = new Graph();
    const v = await new Session(g).run(ops.randomNormal([20000], -3, 2, 'float64', 5));
    const s = stats(v);
    // sd of the sample mean: 2 / sqrt(20000) = 0.014
    expect(Math.abs(s.mean + 3)).toBeLessThan(0.06);
    expect(Math.abs(s.std - 2)).toBeLessThan(0.05);
    // about 4.55% of normal samples lie beyond 2 sd
    const beyond = Array.from(v.data).filter((x) => Math.abs(x + 3) > 4).length / 20000;
    expect(Math.abs(beyond - 0.0455)).toBeLessThan(0.006);
  });

  test('truncatedNormal stays within 2 stddev, with the truncated spread (0.8796 sd)', async () => {
    const g = new Graph();
    const v = await new Session(g).run(ops.truncatedNormal([20000], 1, 0.5, 'float32', 11));
    const s = stats(v);
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.max).toBeLessThanOrEqual(2);
    expect(Math.abs(s.mean - 1)).toBeLessThan(0.02);
    expect(Math.abs(s.std - 0.5 * 0.87962)).toBeLessThan(0.01);
  });

  test('a variable initialized from a seeded op gets the same value in every session', async () => {
    const g = new Graph();
    const w = g.variable(ops.randomNormal([3, 2], 0, 0.1, 'float32', 77), 'w');
    const init = g.globalVariablesInitializer();
    const values: number[][] = [];
    for (let i = 0; i < 2; i++) {
      const sess = new Session(g);
      await sess.run(init);
      values.push(Array.from((await sess.run(w)).data));
    }
    expect(values[1]).toEqual(values[0]);
    expect(new Set(values[0]).size).toBe(6);
  });
});

describe('multinomial (tf.random.categorical)', () => {
  test('draws each class with its softmax probability; a -inf logit never; a seed replays in a new session', async () => {
    const g = new Graph();
    const logits = g.placeholder('float32', [3, 4], 'logits');
    const draws = ops.multinomial(logits, 20000, { seed: 5 });
    expect(draws.shape).toEqual([3, 20000]);
    expect(draws.dtype).toBe('int32');
    const rows = [
      [0, 1, 2, 3],
      [Math.log(0.5), -Infinity, Math.log(0.25), Math.log(0.25)],
      [-1000, 50, -1000, -1000],
    ];
    const feeds = { logits: tensor(rows.flat(), [3, 4]) };
    const session = new Session(g);
    const v = await session.run(draws, feeds);
    rows.forEach((row, b) => {
      const weights = row.map((l) => Math.exp(l - Math.max(...row)));
      const total = weights.reduce((s, w) => s + w, 0);
      const counts = [0, 0, 0, 0];
      for (let s = 0; s < 20000; s++) counts[v.data[b * 20000 + s]]++;
      // 2e4 draws: a frequency's sd is at most 0.0036
      counts.forEach((c, j) => expect(Math.abs(c / 20000 - weights[j] / total)).toBeLessThan(0.015));
    });
    expect(Array.from(v.data.slice(20000, 40000)).includes(1)).toBe(false);
    expect(Array.from(v.data.slice(40000)).every((k) => k === 1)).toBe(true);
    const again = await new Session(g).run(draws, feeds);
    expect(Array.from(again.data)).toEqual(Array.from(v.data));
    const next = await session.run(draws, feeds);
    expect(Array.from(next.data)).not.toEqual(Array.from(v.data));
  });

  test('int64 indices, a batch fed at run time, and named errors', async () => {
    const g = new Graph();
    const logits = g.placeholder('float64', [null, 3], 'logits');
    const draws = ops.multinomial(logits, 2, { dtype: 'int64', seed: 1 });
    expect(draws.shape).toEqual([null, 2]);
    const v = await new Session(g).run(draws, { logits: tensor([0, 0, 0, 1, 1, 1], [2, 3], 'float64') });
    expect(v.dtype).toBe('int64');
    expect(v.shape).toEqual([2, 2]);
    expect(Array.from(v.data).every((k) => k >= 0 && k < 3)).toBe(true);
    expect(() => ops.multinomial(g.placeholder('float32', [3], 'flat'), 1)).toThrow(/rank 2/);
    expect(() => ops.multinomial(g.placeholder('int32', [2, 3], 'ints'), 1)).toThrow(/float/);
    expect(() => ops.multinomial(logits, 1, { dtype: 'float32' })).toThrow(/int32 or int64/);
    const none = ops.multinomial(g.placeholder('float32', [2, null], 'open'), 1, { name: 'pick' });
    await expect(new Session(g).run(none, { open: tensor([], [2, 0]) })).rejects.toThrow(/pick.*no classes/);
  });
});
