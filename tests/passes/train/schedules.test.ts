import { Graph, Session, ops, tensor, train } from 'graphc';

/** Learning-rate schedules as TensorFlow 1.x defines them, evaluated at fed steps (float32). */

async function rates(build: (step: ReturnType<Graph['placeholder']>) => ReturnType<typeof ops.add>, steps: number[]): Promise<number[]> {
  const g = new Graph();
  const step = g.placeholder('int64', [], 'step');
  const rate = build(step);
  expect(rate.dtype).toBe('float32');
  expect(rate.shape).toEqual([]);
  const s = new Session(g);
  const out: number[] = [];
  for (const k of steps) out.push((await s.run(rate, { step: tensor([k], [], 'int64') })).data[0] as number);
  return out;
}

const expectRates = (got: number[], want: number[]) => want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 6));

test('exponentialDecay, smooth and staircase', async () => {
  const steps = [0, 50, 100, 250];
  expectRates(await rates((s) => train.exponentialDecay(0.1, s, 100, 0.5), steps), steps.map((k) => 0.1 * 0.5 ** (k / 100)));
  expectRates(await rates((s) => train.exponentialDecay(0.1, s, 100, 0.5, true), steps), steps.map((k) => 0.1 * 0.5 ** Math.floor(k / 100)));
});

test('piecewiseConstant switches after each boundary (a step on the boundary keeps the earlier value)', async () => {
  expectRates(await rates((s) => train.piecewiseConstant(s, [10, 20], [1, 0.5, 0.1]), [0, 10, 11, 20, 21, 1000]), [1, 1, 0.5, 0.5, 0.1, 0.1]);
  expect(() => train.piecewiseConstant(new Graph().placeholder('int64', [], 's'), [10, 20], [1, 0.5])).toThrow(/need one more value than boundaries/);
  expect(() => train.piecewiseConstant(new Graph().placeholder('int64', [], 's'), [20, 10], [1, 0.5, 0.1])).toThrow(/boundaries must increase/);
});

test('polynomialDecay and cosineDecay reach their end values and stay there', async () => {
  const steps = [0, 25, 100, 400];
  expectRates(
    await rates((s) => train.polynomialDecay(0.1, s, 100, 0.01, 2), steps),
    steps.map((k) => (0.1 - 0.01) * (1 - Math.min(k, 100) / 100) ** 2 + 0.01),
  );
  expectRates(
    await rates((s) => train.cosineDecay(0.1, s, 100, 0.1), steps),
    steps.map((k) => 0.1 * ((1 - 0.1) * 0.5 * (1 + Math.cos((Math.PI * Math.min(k, 100)) / 100)) + 0.1)),
  );
  expect(() => train.cosineDecay(0.1, new Graph().placeholder('int64', [], 's'), 0)).toThrow(/decaySteps must be a positive number/);
});

test('an optimizer takes a schedule of the global step, which minimize advances', async () => {
  const g = new Graph();
  const w = g.variable(tensor([0], [1]), 'w');
  const loss = ops.reduceSum(ops.mul(w, -1)); // d loss / dw = -1: each step adds the current rate to w
  const step = train.getOrCreateGlobalStep(g);
  const lr = train.piecewiseConstant(step, [1], [1, 0.25]);
  const op = new train.SGD(lr).minimize(loss);
  const s = new Session(g);
  await s.run(g.globalVariablesInitializer());
  for (let i = 0; i < 4; i++) await s.run(op);
  // rates at global steps 0, 1, 2, 3: 1, 1, 0.25, 0.25
  expect((await s.run(w)).data[0]).toBeCloseTo(2.5, 6);
  expect((await s.run(step)).data[0]).toBe(4);
});

test("a saved model's optimizer spec may give its learning rate as a schedule; bad schedules are refused by name", async () => {
  const g = new Graph();
  const w = g.variable(tensor([0], [1]), 'w');
  const loss = ops.reduceSum(ops.mul(w, -1));
  const opt = train.optimizerFromSpec({ type: 'sgd', learningRate: { schedule: 'piecewiseConstant', boundaries: [1], values: [1, 0.25] } }, undefined, g);
  const op = opt.minimize(loss);
  const s = new Session(g);
  await s.run(g.globalVariablesInitializer());
  for (let i = 0; i < 4; i++) await s.run(op);
  expect((await s.run(w)).data[0]).toBeCloseTo(2.5, 6);
  // --lr (a number) still overrides a scheduled rate
  expect(() => train.optimizerFromSpec({ type: 'adam', learningRate: { schedule: 'cosineDecay', initial: 0.1, decaySteps: 10 } }, 0.5)).not.toThrow();
  const bad = (learningRate: unknown, graph: Graph | null = new Graph()) => () => train.optimizerFromSpec({ type: 'sgd', learningRate }, undefined, graph ?? undefined);
  expect(bad({ schedule: 'stepDecay' })).toThrow(/schedule 'stepDecay' is not one of exponentialDecay, piecewiseConstant, polynomialDecay, cosineDecay/);
  expect(bad({ schedule: 'cosineDecay', initial: 0.1, decaySteps: 10, warmup: 5 })).toThrow(/schedule 'cosineDecay' has no parameter 'warmup'/);
  expect(bad({ schedule: 'exponentialDecay', initial: 0.1, decaySteps: 10 })).toThrow(/'decayRate' must be a number/);
  expect(bad({ schedule: 'exponentialDecay', initial: 0.1, decaySteps: 10, decayRate: 0.5 }, null)).toThrow(/a schedule needs the graph/);
  expect(bad(undefined)).toThrow(/'learningRate' must be a number or a schedule/);
});
