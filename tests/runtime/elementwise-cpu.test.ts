import { Graph, Session, ops, tensor } from 'graphc';
import { ElementwiseProgram, runElementwise } from '@graphc/runtime';

/**
 * The cpu elementwise loops pick a form by how each input broadcasts: full-size, scalar, one row of
 * the last (merged) dimension repeated, or strided. Every form against a naive broadcast, with
 * shapes whose dimensions merge (a [C] row over [N, H, W, C]) and shapes whose do not.
 */

function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 1.37 + seed) * 3));
}

/** a * b + c by the definition of broadcasting: each output index read back in every input. */
function naive(shapes: number[][], data: Float32Array[], out: number[]): number[] {
  const size = out.reduce((p, d) => p * d, 1);
  const result: number[] = [];
  for (let flat = 0; flat < size; flat++) {
    const index: number[] = [];
    let rest = flat;
    for (let d = out.length - 1; d >= 0; d--) {
      index.unshift(rest % out[d]);
      rest = Math.floor(rest / out[d]);
    }
    const read = (k: number): number => {
      const shape = shapes[k];
      let offset = 0;
      shape.forEach((dim, d) => {
        offset = offset * dim + (dim === 1 ? 0 : index[d + out.length - shape.length]);
      });
      return data[k][offset];
    };
    result.push(Math.fround(Math.fround(read(0) * read(1)) + read(2)));
  }
  return result;
}

const cases: [string, number[], number[], number[]][] = [
  ['row [C] scale and shift over NHWC', [2, 3, 4, 5], [5], [5]],
  ['row [1, 1, W, C] over NHWC (two dimensions merge into the row)', [2, 3, 4, 5], [1, 1, 4, 5], [4, 5]],
  ['column [N, 1] and scalar', [6, 7], [6, 1], []],
  ['middle [1, H, 1, 1] and full', [2, 3, 4, 5], [1, 3, 1, 1], [2, 3, 4, 5]],
  ['every input broadcast, none full', [3, 1, 5], [1, 4, 1], [4, 5]],
  ['row and strided together', [4, 6, 8], [8], [4, 1, 8]],
];

test.each(cases)('%s', async (_label, aShape, bShape, cShape) => {
  const shapes = [aShape, bShape, cShape];
  const data = shapes.map((s, k) => values(s.reduce((p, d) => p * d, 1), k));
  const g = new Graph();
  const [a, b, c] = shapes.map((s, k) => g.placeholder('float32', s, `in${k}`));
  const y = ops.add(ops.mul(a, b), c);
  const out = y.shape as number[];
  const want = naive(shapes, data, out);
  const feeds = Object.fromEntries(shapes.map((s, k) => [`in${k}`, tensor(data[k], s)]));
  // O0 runs mul and add as two kernels; O2 fuses them into one loop over the three inputs
  for (const optimize of [0, 2] as const) {
    const got = await new Session(g, { optimize }).run(y, feeds);
    expect(got.shape).toEqual(out);
    expect(Array.from(got.data)).toEqual(want);
  }
});

test('one program run at shapes that change: its walk is found again for each (a shape seen once runs the shared plan)', async () => {
  // the same fused node, fed [N, 5] for N in turn: its broadcasts change form (N = 1 makes the column a scalar)
  const g = new Graph();
  const a = g.placeholder('float32', [null, 5], 'a');
  const col = g.placeholder('float32', [null, 1], 'col');
  const y = ops.add(ops.mul(a, col), tensor(values(5, 9), [5]));
  const sess = new Session(g);
  for (const n of [3, 4, 1, 6, 3, 1, 4]) {
    const data = [values(n * 5, n), values(n, n + 1), values(5, 9)];
    const got = await sess.run(y, { a: tensor(data[0], [n, 5]), col: tensor(data[1], [n, 1]) });
    expect([n, Array.from(got.data)]).toEqual([n, naive([[n, 5], [n, 1], [5]], data, [n, 5])]);
  }
  // one program object, the output's shape the same and one input's not: [1, 5] is a row repeated, [3, 5] full-size
  const program: ElementwiseProgram = {
    inputDTypes: ['float32', 'float32', 'float32'],
    statements: [
      { js: 'a * b', args: [{ input: 0 }, { input: 1 }], dtype: 'float32' },
      { js: 'a + b', args: [{ step: 0 }, { input: 2 }], dtype: 'float32' },
    ],
  };
  for (const n of [1, 3, 3, 1, 1, 3]) {
    const data = [values(15, 2), values(n * 5, n), values(5, 9)];
    const out = runElementwise(program, [{ data: data[0], shape: [3, 5] }, { data: data[1], shape: [n, 5] }, { data: data[2], shape: [5] }], [3, 5]);
    expect([n, Array.from(out)]).toEqual([n, naive([[3, 5], [n, 5], [5]], data, [3, 5])]);
  }
});
