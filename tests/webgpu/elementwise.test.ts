import { DType, Graph, SymbolicTensor, getOpDef, ops, registeredOps, tensor } from 'graphc';
import { describeGpu, expectClose, runBoth, seeded } from './helpers';

/** Inputs in each op's domain (positive for log/sqrt, small for exp/pow). */
function domainOf(op: string, n: number, seed: number): Float32Array {
  const v = seeded(n, seed, 3);
  if (['log', 'sqrt', 'rsqrt', 'reciprocal'].includes(op)) return v.map((x) => Math.abs(x) + 0.1);
  if (op === 'log1p') return v.map((x) => Math.abs(x) - 0.9);
  return v;
}

const floatUnary = registeredOps().filter((d) => d.elementwise?.wgsl && d.numInputs === 1 && d.family === 'math' && d.name !== 'logicalNot');
const floatBinary = registeredOps().filter(
  (d) => d.elementwise?.wgsl && d.numInputs === 2 && d.family === 'math' && !['logicalAnd', 'logicalOr'].includes(d.name),
);

describeGpu('webgpu elementwise kernels', () => {
  test.each(floatUnary.map((d) => d.name))('float32 %s matches the cpu', async (op) => {
    const g = new Graph();
    const x = g.placeholder('float32', [3, 7], 'x');
    const y = g.addNode(op, [x], op === 'leakyRelu' ? { alpha: 0.1 } : {}).output();
    const { cpu, gpu, exe } = await runBoth(g, [y], { x: tensor(domainOf(op, 21, 3), [3, 7]) }, { optimize: 0 });
    expectClose(gpu[0], cpu[0], 1e-4, 1e-2, op);
    expect(exe.fallbacks).toEqual([]);
  });

  test('log1p and expm1 hold float32 precision near 0, on either side of the bound of the series (|x| = 0.05)', async () => {
    const xs = [3e-8, -2e-6, 1e-4, -0.003, 0.0499, -0.0499, 0.0501, -0.0501, 0.3, -0.6, 4];
    const g = new Graph();
    const x = g.placeholder('float32', [xs.length], 'x');
    const { cpu, gpu, exe } = await runBoth(g, [ops.log1p(x), ops.expm1(x)], { x: tensor(xs, [xs.length]) }, { optimize: 0 });
    // log(1 + 3e-8) is 0 in float32 and exp(3e-8) - 1 is 0 or 1.2e-7: the series keep every digit
    // near 0; beyond its bound log and exp on a device hold a few units of 1e-6
    for (let k = 0; k < 2; k++) cpu[k].data.forEach((c, i) => expect(Math.abs(gpu[k].data[i] - c)).toBeLessThanOrEqual((Math.abs(xs[i]) < 0.05 ? 5e-7 : 1e-5) * Math.abs(c)));
    expect(exe.fallbacks).toEqual([]);
  });

  test.each(floatBinary.map((d) => d.name))('float32 %s with broadcasting matches the cpu', async (op) => {
    const g = new Graph();
    const a = g.placeholder('float32', [4, 1, 5], 'a');
    const b = g.placeholder('float32', [3, 1], 'b');
    const y = g.addNode(op, [a, b]).output();
    const av = op === 'pow' ? seeded(20, 5, 2).map((v) => Math.abs(v) + 0.2) : seeded(20, 5, 4);
    const bv = op === 'pow' ? seeded(3, 6, 2) : seeded(3, 6, 4).map((v) => (Math.abs(v) < 0.3 ? 1.5 : v));
    const { cpu, gpu, exe } = await runBoth(g, [y], { a: tensor(av, [4, 1, 5]), b: tensor(bv, [3, 1]) }, { optimize: 0 });
    expect(gpu[0].shape).toEqual([4, 3, 5]);
    expectClose(gpu[0], cpu[0], 1e-4, 1e-2, op);
    expect(exe.fallbacks).toEqual([]);
  });

  test('pow of a negative base with integer exponents, and 0^0', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [6], 'a');
    const b = g.placeholder('float32', [6], 'b');
    const y = ops.pow(a, b);
    const { cpu, gpu } = await runBoth(g, [y], { a: tensor([-2, -2, -3, 0, 0, 4], [6]), b: tensor([3, 2, -1, 0, 2, 0.5], [6]) }, { optimize: 0 });
    expectClose(gpu[0], cpu[0]);
    expectClose(gpu[0], tensor([-8, 4, -1 / 3, 1, 0, 2], [6]), 1e-6);
  });

  const INT_OPS = ['add', 'sub', 'mul', 'div', 'floorDiv', 'mod', 'maximum', 'minimum', 'equal', 'less', 'greaterEqual'];
  test.each(INT_OPS)('int32 %s follows the cpu (wrapping, truncating division, floor modulo, x/0 = 0)', async (op) => {
    const g = new Graph();
    const a = g.placeholder('int32', [8], 'a');
    const b = g.placeholder('int32', [8], 'b');
    const y = g.addNode(op, [a, b]).output();
    const feeds = {
      a: tensor([7, -7, 7, -7, 2147483647, -5, 0, 100000], [8], 'int32'),
      b: tensor([2, 2, -2, -2, 1, 0, 3, 100000], [8], 'int32'),
    };
    const { cpu, gpu, exe } = await runBoth(g, [y], feeds, { optimize: 0 });
    expectClose(gpu[0], cpu[0], 0, 0, op);
    expect(exe.fallbacks).toEqual([]);
  });

  test('int32 unary ops and bool logic', async () => {
    const g = new Graph();
    const a = g.placeholder('int32', [5], 'a');
    const p = g.placeholder('bool', [5], 'p');
    const q = g.placeholder('bool', [5], 'q');
    const outs = [ops.neg(a), ops.abs(a), ops.sign(a), ops.square(a), ops.relu(a), ops.relu6(a), ops.logicalAnd(p, q), ops.logicalOr(p, q), ops.logicalNot(p), ops.equal(p, q)];
    const feeds = { a: tensor([-3, 0, 5, 9, -2147483648], [5], 'int32'), p: tensor([1, 0, 1, 0, 1], [5], 'bool'), q: tensor([1, 1, 0, 0, 1], [5], 'bool') };
    const { cpu, gpu, exe } = await runBoth(g, outs, feeds, { optimize: 0 });
    outs.forEach((_, i) => expectClose(gpu[i], cpu[i], 0, 0, outs[i].node.op));
    expect(exe.fallbacks).toEqual([]);
  });

  test('where selects with a broadcast bool condition, on floats and ints', async () => {
    const g = new Graph();
    const c = g.placeholder('bool', [3, 1], 'c');
    const x = g.placeholder('float32', [3, 4], 'x');
    const i = g.placeholder('int32', [4], 'i');
    const y = ops.where(c, x, ops.neg(x));
    const z = ops.where(c, i, ops.mul(i, 10));
    const feeds = { c: tensor([1, 0, 1], [3, 1], 'bool'), x: tensor(seeded(12, 9), [3, 4]), i: tensor([1, 2, 3, 4], [4], 'int32') };
    const { cpu, gpu } = await runBoth(g, [y, z], feeds, { optimize: 0 });
    expectClose(gpu[0], cpu[0]);
    expectClose(gpu[1], cpu[1]);
  });

  const CASTS: [DType, DType][] = [
    ['float32', 'int32'],
    ['float32', 'bool'],
    ['int32', 'float32'],
    ['int32', 'bool'],
    ['bool', 'float32'],
    ['bool', 'int32'],
    ['int32', 'int64'],
    ['int64', 'int32'],
  ];
  test.each(CASTS)('cast %s -> %s as the cpu stores it', async (from, to) => {
    const g = new Graph();
    const x = g.placeholder(from, [8], 'x');
    const y = ops.cast(x, to);
    const values =
      from === 'bool' ? [1, 0, 1, 1, 0, 0, 1, 0] : from === 'float32' ? [1.7, -1.7, 0, -0, 3e9, -3e9, NaN, 2.5] : [5, -5, 0, 1, -2147483648, 2147483647, 7, -1];
    const { cpu, gpu, exe } = await runBoth(g, [y], { x: tensor(values, [8], from) }, { optimize: 0 });
    expectClose(gpu[0], cpu[0], 0, 0, `${from}->${to}`);
    expect(exe.fallbacks).toEqual([]);
  });

  test('an elementwise chain at O2 is one generated kernel (fusedElementwise) with the same numbers', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [16, 9], 'x');
    const b = g.placeholder('float32', [9], 'b');
    const y = ops.gelu(ops.mul(ops.sigmoid(ops.add(x, b)), ops.tanh(x)));
    const feeds = { x: tensor(seeded(144, 11, 2), [16, 9]), b: tensor(seeded(9, 12), [9]) };
    const { cpu, gpu, exe } = await runBoth(g, [y], feeds, { optimize: 2 });
    expectClose(gpu[0], cpu[0]);
    expect(exe.placement.filter((p) => p.where === 'gpu').map((p) => p.op)).toEqual(['fusedElementwise']);
    expect(exe.stats.dispatchesPerRun).toBe(1);
  });

  test('int64 stays on the device where exact, goes through the cpu where it could grow, and refuses values past 32 bits', async () => {
    const g = new Graph();
    const a = g.placeholder('int64', [3], 'a');
    const b = g.placeholder('int64', [3], 'b');
    const m = ops.maximum(a, b);
    const s = ops.add(a, b);
    const feeds = { a: tensor([1, -5, 2000000000], [3], 'int64'), b: tensor([3, -7, 100], [3], 'int64') };
    const { cpu, gpu, exe, session } = await runBoth(g, [m, s], feeds, { optimize: 0 });
    expectClose(gpu[0], cpu[0]);
    expectClose(gpu[1], cpu[1]);
    expect(exe.fallbacks.map((f) => [f.op, f.reason])).toEqual([['add', expect.stringMatching(/int64/)]]);
    // 4e9 does not fit the device's 32 bits: the fallback's result fails its upload, naming the node
    const big = { a: tensor([1, -5, 2000000000], [3], 'int64'), b: tensor([3, -7, 2000000000], [3], 'int64') };
    await expect(session.run([m, s], big)).rejects.toThrow(/node 'add'.*int64 value 4000000000 .* does not fit/);
    await expect(session.run(m, { a: tensor([2 ** 40, 0, 0], [3], 'int64'), b: tensor([0, 0, 0], [3], 'int64') })).rejects.toThrow(
      /feed 'a': int64 value 1099511627776 .* does not fit the webgpu backend's 32-bit integers/,
    );
  });

  test('NaN and infinities: isNaN, isInf, NaN-propagating maximum, NaN to bool', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [6], 'x');
    const outs = [ops.isNaN(x), ops.isInf(x), ops.maximum(x, 0), ops.minimum(x, 0), ops.cast(x, 'bool'), ops.cast(x, 'int32')];
    const feeds = { x: tensor([NaN, Infinity, -Infinity, 0, -0, 2.5], [6]) };
    const { cpu, gpu, exe } = await runBoth(g, outs, feeds, { optimize: 0 });
    outs.forEach((o, i) => expectClose(gpu[i], cpu[i], 0, 0, o.node.op));
    expect(exe.fallbacks).toEqual([]);
  });

  test('float64 runs through the cpu fallback, exactly, and the plan says so', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [3], 'x');
    const y = ops.exp(ops.mul(x, 2));
    const { cpu, gpu, exe } = await runBoth(g, [y], { x: tensor([0.1, 1e-10, 3], [3], 'float64') }, { optimize: 0 });
    expect(Array.from(gpu[0].data)).toEqual(Array.from(cpu[0].data));
    expect(exe.fallbacks.map((f) => f.op).sort()).toEqual(['exp', 'mul']);
    expect(exe.fallbacks.every((f) => /float64/.test(f.reason))).toBe(true);
  });
});

// keep the import of SymbolicTensor and getOpDef meaningful for readers of the op list above
void SymbolicTensor;
void getOpDef;
