import { Graph, Session, TensorValue, ops, tensor, train } from 'graphc';
import type { OptLevel } from '@graphc/passes';
import { values } from '../passes/autodiff/helpers';

/**
 * A recurrent node whose gradient a run computes reads its outputs from the unrolled forward the
 * gradient differentiates (buildPlan's recurrentTwins step), so the recurrence runs once; runs
 * without the gradient keep the kernel, and a fetched node stays.
 */

const [SEQ, BATCH, INPUT, HIDDEN] = [5, 3, 4, 8];

function trainingGraph(op: 'lstm' | 'gru' | 'rnn', attrs: Record<string, unknown> = {}) {
  const gates = { lstm: 4, gru: 3, rnn: 1 }[op];
  const dirs = attrs.direction === 'bidirectional' ? 2 : 1;
  const g = new Graph({ makeDefault: false });
  const x = g.placeholder('float32', [SEQ, BATCH, INPUT], 'x');
  const f32 = (v: TensorValue) => tensor(Float32Array.from(v.data), v.shape);
  const w = g.variable(f32(values([dirs, gates * HIDDEN, INPUT], 1, -0.5, 0.5)), 'W');
  const r = g.variable(f32(values([dirs, gates * HIDDEN, HIDDEN], 2, -0.5, 0.5)), 'R');
  const b = g.variable(f32(values([dirs, 2 * gates * HIDDEN], 3, -0.5, 0.5)), 'B');
  const node = g.addNode(op, [x, w, r, b], { hiddenSize: HIDDEN, inputs: ['x', 'w', 'r', 'b'], ...attrs }, { name: 'rec' });
  const [y, yh] = node.outputTensors;
  const loss = ops.add(ops.mean(ops.square(y)), ops.mean(yh));
  const step = new train.Adam(0.01).minimize(loss);
  const feeds = { x: tensor(Float32Array.from(values([SEQ, BATCH, INPUT], 4, -1, 1).data), [SEQ, BATCH, INPUT]) };
  return { g, y, loss, step, feeds, w, r };
}

/** Three training steps at `level`: the losses, R after them, and whether the last plan ran the recurrent kernel. */
async function trainAt(level: OptLevel, op: 'lstm' | 'gru' | 'rnn', attrs: Record<string, unknown> = {}) {
  const { g, loss, step, feeds, r } = trainingGraph(op, attrs);
  const session = new Session(g, { optimize: level });
  await session.run(g.globalVariablesInitializer());
  const losses: number[] = [];
  for (let i = 0; i < 3; i++) losses.push((await session.run({ loss, step }, feeds)).loss.data[0]);
  const plan = session.plans().at(-1)!;
  const kernelRuns = plan.schedule.some((n) => n.op === op);
  const twinsStep = plan.passes.find((p) => p.name === 'recurrentTwins');
  const rAfter = await session.run(r);
  session.close();
  return { losses, kernelRuns, twinsStep, r: Array.from(rAfter.data) };
}

describe('recurrent twins', () => {
  test.each([
    ['lstm', {}],
    ['lstm', { direction: 'bidirectional' }],
    ['gru', { linearBeforeReset: true }],
    ['gru', { direction: 'reverse' }],
    ['rnn', {}],
  ] as const)('%s %j: training at O2 runs the recurrence once, with O0\'s losses and weights', async (op, attrs) => {
    const o0 = await trainAt(0, op, attrs);
    const o2 = await trainAt(2, op, attrs);
    expect(o0.kernelRuns).toBe(true);
    expect(o2.kernelRuns).toBe(false);
    expect(o2.twinsStep).toMatchObject({ replaced: 1 });
    o2.losses.forEach((l, i) => expect(Math.abs(l - o0.losses[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(o0.losses[i]))));
    o2.r.forEach((v, i) => expect(Math.abs(v - o0.r[i])).toBeLessThan(1e-5));
  });

  test('a run without the gradient keeps the kernel, and so does a run that fetches the node', async () => {
    const { g, y, loss, step, feeds } = trainingGraph('lstm');
    const session = new Session(g);
    await session.run(g.globalVariablesInitializer());
    await session.run(loss, feeds);
    expect(session.plans().at(-1)!.schedule.some((n) => n.op === 'lstm')).toBe(true);
    expect(session.plans().at(-1)!.passes.some((p) => p.name === 'recurrentTwins')).toBe(false);
    const both = await session.run({ y, loss, step }, feeds);
    const plan = session.plans().at(-1)!;
    expect(plan.schedule.some((n) => n.op === 'lstm')).toBe(true);
    expect(both.y.shape).toEqual([SEQ, 1, BATCH, HIDDEN]);
    session.close();
  });
});
