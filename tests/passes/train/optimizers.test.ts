import { GradientError, Graph, Session, SymbolicTensor, ops, tensor, train } from 'graphc';

/**
 * A 2-layer MLP (tanh hidden layer, softmax cross-entropy) trained full batch. The reference below
 * is the same math written out in plain JavaScript doubles (forward, backward and each optimizer's
 * update rule), independent of graphc; graphc in float64 must reproduce its loss at every step.
 */

const N = 12;
const D = 5;
const H = 7;
const C = 3;

function lcg(seed: number, n: number, scale: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 4294967296) * 2 - 1) * scale;
  });
}

const X = lcg(1, N * D, 1.5);
const Y = Array.from({ length: N }, (_, i) => (i * 7 + 3) % C);
const W1 = lcg(2, D * H, 0.6);
const B1 = lcg(3, H, 0.1);
const W2 = lcg(4, H * C, 0.6);
const B2 = lcg(5, C, 0.1);

interface Params {
  W1: number[];
  b1: number[];
  W2: number[];
  b2: number[];
}

/** Loss and gradients of the MLP, by hand. */
function lossAndGrads(p: Params): { loss: number; grads: Params } {
  const h = new Array(N * H).fill(0);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < H; j++) {
      let z = p.b1[j];
      for (let k = 0; k < D; k++) z += X[i * D + k] * p.W1[k * H + j];
      h[i * H + j] = Math.tanh(z);
    }
  }
  let loss = 0;
  const dz2 = new Array(N * C).fill(0);
  for (let i = 0; i < N; i++) {
    const z = Array.from({ length: C }, (_, c) => {
      let s = p.b2[c];
      for (let j = 0; j < H; j++) s += h[i * H + j] * p.W2[j * C + c];
      return s;
    });
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    loss += Math.log(sum) + m - z[Y[i]];
    for (let c = 0; c < C; c++) dz2[i * C + c] = (e[c] / sum - (c === Y[i] ? 1 : 0)) / N;
  }
  loss /= N;
  const g: Params = { W1: new Array(D * H).fill(0), b1: new Array(H).fill(0), W2: new Array(H * C).fill(0), b2: new Array(C).fill(0) };
  const dz1 = new Array(N * H).fill(0);
  for (let i = 0; i < N; i++) {
    for (let c = 0; c < C; c++) {
      g.b2[c] += dz2[i * C + c];
      for (let j = 0; j < H; j++) g.W2[j * C + c] += h[i * H + j] * dz2[i * C + c];
    }
    for (let j = 0; j < H; j++) {
      let dh = 0;
      for (let c = 0; c < C; c++) dh += dz2[i * C + c] * p.W2[j * C + c];
      dz1[i * H + j] = dh * (1 - h[i * H + j] ** 2);
      g.b1[j] += dz1[i * H + j];
      for (let k = 0; k < D; k++) g.W1[k * H + j] += X[i * D + k] * dz1[i * H + j];
    }
  }
  return { loss, grads: g };
}

type Rule = (p: number[], g: number[], state: Record<string, number[]>, t: number) => void;

const RULES: Record<string, { make: () => train.Optimizer; rule: Rule }> = {
  SGD: {
    make: () => new train.SGD(0.5),
    rule: (p, g) => p.forEach((_, i) => (p[i] -= 0.5 * g[i])),
  },
  Momentum: {
    make: () => new train.Momentum(0.2, 0.9),
    rule: (p, g, s) => {
      s.v ??= new Array(p.length).fill(0);
      p.forEach((_, i) => {
        s.v[i] = 0.9 * s.v[i] + g[i];
        p[i] -= 0.2 * s.v[i];
      });
    },
  },
  'Momentum (Nesterov)': {
    make: () => new train.Momentum(0.2, 0.9, { useNesterov: true }),
    rule: (p, g, s) => {
      s.v ??= new Array(p.length).fill(0);
      p.forEach((_, i) => {
        s.v[i] = 0.9 * s.v[i] + g[i];
        p[i] -= 0.2 * (g[i] + 0.9 * s.v[i]);
      });
    },
  },
  Adam: {
    make: () => new train.Adam(0.05, 0.9, 0.999, 1e-8),
    rule: (p, g, s, t) => {
      s.m ??= new Array(p.length).fill(0);
      s.v ??= new Array(p.length).fill(0);
      p.forEach((_, i) => {
        s.m[i] = 0.9 * s.m[i] + 0.1 * g[i];
        s.v[i] = 0.999 * s.v[i] + 0.001 * g[i] * g[i];
        const mHat = s.m[i] / (1 - 0.9 ** t);
        const vHat = s.v[i] / (1 - 0.999 ** t);
        p[i] -= (0.05 * mHat) / (Math.sqrt(vHat) + 1e-8);
      });
    },
  },
  RMSProp: {
    make: () => new train.RMSProp(0.01, 0.9, 0.5, 1e-10),
    rule: (p, g, s) => {
      s.ms ??= new Array(p.length).fill(0);
      s.mom ??= new Array(p.length).fill(0);
      p.forEach((_, i) => {
        s.ms[i] = 0.9 * s.ms[i] + 0.1 * g[i] * g[i];
        s.mom[i] = 0.5 * s.mom[i] + (0.01 * g[i]) / Math.sqrt(s.ms[i] + 1e-10);
        p[i] -= s.mom[i];
      });
    },
  },
};

function referenceCurve(rule: Rule, steps: number): number[] {
  const p: Params = { W1: [...W1], b1: [...B1], W2: [...W2], b2: [...B2] };
  const states: Record<string, Record<string, number[]>> = { W1: {}, b1: {}, W2: {}, b2: {} };
  const losses: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const { loss, grads } = lossAndGrads(p);
    losses.push(loss);
    for (const k of ['W1', 'b1', 'W2', 'b2'] as const) rule(p[k], grads[k], states[k], t);
  }
  return losses;
}

function buildMlp(): { g: Graph; loss: SymbolicTensor; vars: SymbolicTensor[] } {
  const g = new Graph();
  const x = g.placeholder('float64', [null, D], 'x');
  const y = g.placeholder('int32', [null], 'y');
  const w1 = g.variable(tensor(W1, [D, H], 'float64'), 'W1');
  const b1 = g.variable(tensor(B1, [H], 'float64'), 'b1');
  const w2 = g.variable(tensor(W2, [H, C], 'float64'), 'W2');
  const b2 = g.variable(tensor(B2, [C], 'float64'), 'b2');
  const hidden = ops.tanh(ops.add(ops.matmul(x, w1), b1));
  const logits = ops.add(ops.matmul(hidden, w2), b2);
  const loss = ops.mean(ops.sparseSoftmaxCrossEntropyWithLogits(y, logits), undefined, false, 'loss');
  return { g, loss, vars: [w1, b1, w2, b2] };
}

const feeds = { x: tensor(X, [N, D], 'float64'), y: tensor(Y, [N], 'int32') };

describe('full-batch MLP training reproduces the hand-written reference step by step', () => {
  test.each(Object.keys(RULES))('%s', async (name) => {
    const { make, rule } = RULES[name];
    const steps = 25;
    const expected = referenceCurve(rule, steps);
    const { g, loss } = buildMlp();
    const step = make().minimize(loss);
    const sess = new Session(g);
    await sess.run(g.globalVariablesInitializer());
    const got: number[] = [];
    for (let t = 0; t < steps; t++) {
      const out = await sess.run({ loss, step }, feeds);
      got.push(out.loss.data[0]);
    }
    got.forEach((l, t) => expect(Math.abs(l - expected[t])).toBeLessThan(1e-12 * Math.max(1, Math.abs(expected[t]))));
    // training does something: the loss fell
    expect(got[steps - 1]).toBeLessThan(got[0] * 0.8);
    const gs = await sess.run('global_step');
    expect(gs.dtype).toBe('int64');
    expect(gs.data[0]).toBe(steps);
  });
});

describe('optimizer graph', () => {
  test('slots are non-trainable variables named <var>/<optimizer>/<slot>, plus Adam beta powers', () => {
    const { g, loss, vars } = buildMlp();
    const opt = new train.Adam(0.01);
    opt.minimize(loss);
    expect(opt.getSlot(vars[0], 'm')!.name).toBe('W1/Adam/m');
    expect(opt.getSlot(vars[3], 'v')!.name).toBe('b2/Adam/v');
    const names = opt.variables().map((v) => v.name);
    expect(names).toEqual(expect.arrayContaining(['W1/Adam/m', 'W1/Adam/v', 'Adam/beta1_power', 'Adam/beta2_power']));
    expect(g.trainableVariables().map((v) => v.name)).toEqual(['W1', 'b1', 'W2', 'b2']);
    expect(g.variables().map((v) => v.name)).toContain('global_step');
  });

  test('learning rate as a tensor: a fed schedule', async () => {
    const g = new Graph();
    const w = g.variable(tensor([1, -2], [2], 'float64'), 'w');
    const lr = g.placeholder('float64', [], 'lr');
    const loss = ops.reduceSum(ops.square(w));
    const step = new train.SGD(lr).minimize(loss);
    const sess = new Session(g);
    await sess.run(g.globalVariablesInitializer());
    await sess.run(step, { lr: tensor([0.25], [], 'float64') }); // w -= 0.25 * 2w -> w/2
    expect(Array.from((await sess.run(w)).data)).toEqual([0.5, -1]);
    await sess.run(step, { lr: tensor([0.5], [], 'float64') }); // w -= w -> 0
    expect(Array.from((await sess.run(w)).data)).toEqual([0, 0]);
  });

  test('a float32 learning-rate tensor drives float64 variables (cast)', async () => {
    const g = new Graph();
    const w = g.variable(tensor([4], [1], 'float64'), 'w');
    const lr = g.variable(tensor([0.125], []), 'lr', { trainable: false });
    const step = new train.SGD(lr).minimize(ops.reduceSum(ops.square(w)));
    const sess = new Session(g);
    await sess.run(g.globalVariablesInitializer());
    await sess.run(step);
    expect((await sess.run(w)).data[0]).toBe(3);
  });

  test('varList restricts training; a frozen variable keeps its value', async () => {
    const g = new Graph();
    const a = g.variable(tensor([1], [1], 'float64'), 'a');
    const b = g.variable(tensor([1], [1], 'float64'), 'b');
    const step = new train.SGD(0.1).minimize(ops.reduceSum(ops.mul(a, b)), { varList: [a], globalStep: null });
    const sess = new Session(g);
    await sess.run(g.globalVariablesInitializer());
    await sess.run(step);
    expect((await sess.run(a)).data[0]).toBeCloseTo(0.9, 15);
    expect((await sess.run(b)).data[0]).toBe(1);
    expect(g.hasNode('global_step')).toBe(false);
  });

  test('errors: no trainable variable, integer loss, non-variable in varList', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [2], 'x');
    expect(() => new train.SGD(0.1).minimize(ops.reduceSum(x))).toThrow(/depends on no trainable variable/);
    const w = g.variable(tensor([1, 2], [2]), 'w');
    expect(() => new train.SGD(0.1).minimize(ops.reduceSum(ops.cast(w, 'int32')))).toThrow(GradientError);
    expect(() => new train.SGD(0.1).minimize(ops.reduceSum(ops.mul(w, x)), { varList: [x] })).toThrow(/not a variable/);
    expect(() => new train.SGD(-1)).toThrow(/non-negative/);
  });
});
