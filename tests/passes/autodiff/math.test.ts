import { Graph, Session, SymbolicTensor, TensorValue, checkGradients, gradients, ops, tensor } from 'graphc';
import { values } from './helpers';


type Unary = (x: SymbolicTensor) => SymbolicTensor;

const UNARY: [string, Unary, number, number, number][] = [
  // name, fn, lo, hi, gap from 0 (kinks and poles)
  ['neg', ops.neg, -2, 2, 0],
  ['abs', ops.abs, -2, 2, 0.05],
  ['exp', ops.exp, -2, 2, 0],
  ['log', ops.log, 0.2, 3, 0],
  ['log1p', ops.log1p, -0.8, 3, 0],
  ['expm1', ops.expm1, -2, 2, 0],
  ['sqrt', ops.sqrt, 0.2, 3, 0],
  ['rsqrt', ops.rsqrt, 0.2, 3, 0],
  ['square', ops.square, -2, 2, 0],
  ['reciprocal', ops.reciprocal, -2, 2, 0.3],
  ['sin', ops.sin, -3, 3, 0],
  ['cos', ops.cos, -3, 3, 0],
  ['tanh', ops.tanh, -3, 3, 0],
  ['sigmoid', ops.sigmoid, -4, 4, 0],
  ['softplus', ops.softplus, -4, 4, 0],
  ['erf', ops.erf, -2, 2, 0],
  ['relu', ops.relu, -2, 2, 0.05],
  ['relu6', ops.relu6, -2, 8, 0.05],
  ['leakyRelu', (x) => ops.leakyRelu(x, 0.1), -2, 2, 0.05],
  ['elu', (x) => ops.elu(x, 0.7), -2, 2, 0.05],
  ['selu', ops.selu, -2, 2, 0.05],
  ['gelu', (x) => ops.gelu(x), -3, 3, 0],
  ['gelu (tanh)', (x) => ops.gelu(x, true), -3, 3, 0],
  ['sign', ops.sign, -2, 2, 0.05],
  ['floor', ops.floor, -2, 2, 0],
  ['ceil', ops.ceil, -2, 2, 0],
  ['round', ops.round, -2, 2, 0],
];

describe('unary math gradients match central differences (float64)', () => {
  test.each(UNARY)('%s', async (_name, fn, lo, hi, gap) => {
    let x = values([3, 4], 7, lo, hi, gap);
    if (['floor', 'ceil', 'round'].includes(_name)) {
      // keep away from the steps (integers and half-integers)
      x = tensor(Array.from(x.data, (v) => Math.floor(v) + 0.2 + 0.1 * (v - Math.floor(v))), x.shape, 'float64');
    }
    if (_name === 'relu6') x = tensor(Array.from(x.data, (v) => (Math.abs(v - 6) < 0.05 ? 6.2 : v)), x.shape, 'float64');
    const r = await checkGradients(fn, [x]);
    expect(r.maxAbsError).toBeLessThan(1e-6);
  });

  test('relu6 and leakyRelu gradients have the right values at known points', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [5], 'x');
    const [d6] = gradients(ops.relu6(x), [x]);
    const [dl] = gradients(ops.leakyRelu(x, 0.1), [x]);
    const sess = new Session(g);
    const out = await sess.run([d6, dl], { x: tensor([-1, 0.5, 5, 7, 3], [5], 'float64') });
    expect(Array.from(out[0].data)).toEqual([0, 1, 1, 0, 1]);
    expect(Array.from(out[1].data)).toEqual([0.1, 1, 1, 1, 1]);
  });
});

type Binary = (a: SymbolicTensor, b: SymbolicTensor) => SymbolicTensor;

const BINARY: [string, Binary, number, number][] = [
  ['add', ops.add, -2, 2],
  ['sub', ops.sub, -2, 2],
  ['mul', ops.mul, -2, 2],
  ['div', ops.div, 0.5, 2],
  ['pow', ops.pow, 0.5, 2],
  ['maximum', ops.maximum, -2, 2],
  ['minimum', ops.minimum, -2, 2],
  ['mod', ops.mod, 0.7, 3],
  ['squaredDifference', ops.squaredDifference, -2, 2],
];

const SHAPES: [string, number[], number[]][] = [
  ['same shape', [3, 4], [3, 4]],
  ['row vector', [3, 4], [4]],
  ['column', [3, 1], [1, 4]],
  ['scalar', [], [2, 3]],
  ['rank 3 vs 2', [2, 1, 4], [3, 1]],
];

describe('binary math gradients, with broadcasting', () => {
  for (const [name, fn, lo, hi] of BINARY) {
    test.each(SHAPES)(`${name}: %s`, async (_label, sa, sb) => {
      const a = values(sa, 11, lo, hi);
      let b = values(sb, 29, lo, hi);
      if (name === 'mod') {
        // keep a / b away from integers, where mod jumps
        b = tensor(Array.from(b.data, (v) => v + 3.1), sb, 'float64');
      }
      if (name === 'maximum' || name === 'minimum') b = tensor(Array.from(b.data, (v) => v + 0.013), sb, 'float64');
      const r = await checkGradients(fn, [a, b]);
      expect(r.symbolic[0].shape).toEqual(sa);
      expect(r.symbolic[1].shape).toEqual(sb);
    });
  }

  test('where: gradient goes to the chosen branch only, condition takes none', async () => {
    const cond = tensor([1, 0, 1, 0, 0, 1], [2, 3], 'bool');
    await checkGradients((c, x, y) => ops.where(c, x, y), [cond, values([2, 3], 3), values([3], 5)]);
    const g = new Graph();
    const x = g.placeholder('float64', [3], 'x');
    const y = g.placeholder('float64', [3], 'y');
    const c = g.constant(tensor([1, 0, 1], [3], 'bool'));
    const [dx, dy] = gradients(ops.where(c, x, y), [x, y]);
    const sess = new Session(g);
    const out = await sess.run([dx, dy], { x: tensor([1, 2, 3], [3], 'float64'), y: tensor([4, 5, 6], [3], 'float64') });
    expect(Array.from(out[0].data)).toEqual([1, 0, 1]);
    expect(Array.from(out[1].data)).toEqual([0, 1, 0]);
  });

  test('unknown batch dimension: bias gradient sums over the batch fed at run time', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 3], 'x');
    const b = g.placeholder('float32', [3], 'b');
    const y = ops.mul(ops.add(x, b), ops.add(x, b));
    const [dx, db] = gradients(y, [x, b]);
    expect(dx.shape).toEqual([null, 3]);
    expect(db.shape).toEqual([3]);
    const sess = new Session(g);
    const out = await sess.run([dx, db], { x: tensor([1, 2, 3, 4, 5, 6], [2, 3]), b: tensor([1, 0, -1], [3]) });
    // d/dx (x+b)^2 = 2(x+b); db sums it over the 2 rows
    expect(Array.from(out[0].data)).toEqual([4, 4, 4, 10, 10, 10]);
    expect(Array.from(out[1].data)).toEqual([14, 14, 14]);
  });

  test('unknown dims on both sides broadcast at run time ([?, 3] + [?, 3] fed as [4, 3] and [1, 3])', async () => {
    const g = new Graph();
    const a = g.placeholder('float64', [null, 3], 'a');
    const b = g.placeholder('float64', [null, 3], 'b');
    const [da, db] = gradients(ops.mul(a, b), [a, b]);
    const sess = new Session(g);
    const av = values([4, 3], 1);
    const bv = values([1, 3], 2);
    const out = await sess.run([da, db], { a: av, b: bv });
    expect(out[0].shape).toEqual([4, 3]);
    expect(out[1].shape).toEqual([1, 3]);
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let i = 0; i < 4; i++) s += av.data[i * 3 + j];
      expect(out[1].data[j]).toBeCloseTo(s, 12);
      expect(out[0].data[j]).toBeCloseTo(bv.data[j], 12);
    }
  });
});

describe('matmul gradients', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['plain', [3, 4], [4, 5], false, false],
    ['transposeA', [4, 3], [4, 5], true, false],
    ['transposeB', [3, 4], [5, 4], false, true],
    ['both transposed', [4, 3], [5, 4], true, true],
    ['batched', [2, 3, 4], [2, 4, 5], false, false],
    ['batch broadcast (B shared)', [2, 3, 4], [4, 5], false, false],
    ['rank 4 A, B shared and transposed', [2, 3, 2, 4], [5, 4], false, true],
    ['B shared, A transposed', [3, 4, 2], [4, 5], true, false],
    ['batch broadcast (1 vs 2)', [1, 3, 4], [2, 4, 2], false, false],
    ['batch broadcast rank 4, transposed', [2, 1, 4, 3], [3, 2, 4], true, true],
  ];
  test.each(cases)('%s', async (_label, sa, sb, transposeA, transposeB) => {
    const r = await checkGradients((a, b) => ops.matmul(a, b, { transposeA, transposeB }), [values(sa, 3), values(sb, 4)]);
    expect(r.symbolic[0].shape).toEqual(sa);
    expect(r.symbolic[1].shape).toEqual(sb);
  });

  test("a B shared by A's batch takes its gradient from one product of the batch's rows", () => {
    const g = new Graph();
    const [a, b] = [g.placeholder('float32', [null, 7, 4], 'a'), g.placeholder('float32', [5, 4], 'b')];
    const [db] = gradients(ops.reduceSum(ops.matmul(a, b, { transposeB: true })), [b]);
    expect(db.node.op).toBe('matmul');
    expect(db.shape).toEqual([5, 4]);
    expect(db.node.inputs.map((t) => [t.node.op, t.shape])).toEqual([
      ['reshape', [null, 5]],
      ['reshape', [null, 4]],
    ]);
  });

  test('float32 matmul gradient matches within float32 tolerance', async () => {
    const a = tensor(Array.from(values([3, 4], 5).data), [3, 4]);
    const b = tensor(Array.from(values([4, 2], 6).data), [4, 2]);
    await checkGradients((x, y) => ops.matmul(x, y), [a, b]);
  });
});
