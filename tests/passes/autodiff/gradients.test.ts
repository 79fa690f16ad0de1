import {
  GradientError,
  Graph,
  Session,
  checkGradients,
  gradients,
  ops,
  registerOp,
  tensor,
} from 'graphc';
import { values } from './helpers';

const f64 = (data: number[], shape: number[] = [data.length]) => tensor(data, shape, 'float64');

describe('gradients(): the pass', () => {
  test('fan-out: contributions of every use are summed', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [3], 'x');
    // y = x*x + 3x + x  =>  dy/dx = 2x + 4
    const y = ops.add(ops.add(ops.mul(x, x), ops.mul(x, 3)), x);
    const [dx] = gradients(y, [x]);
    const out = await new Session(g).run(dx, { x: f64([1, -2, 0.5]) });
    expect(Array.from(out.data)).toEqual([6, 0, 5]);
  });

  test('gradYs weights each y; several ys add up', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [2], 'x');
    const w = g.placeholder('float64', [2], 'w');
    const [dx] = gradients([ops.mul(x, 2), ops.square(x)], [x], [w, null]);
    const out = await new Session(g).run(dx, { x: f64([3, 4]), w: f64([10, 100]) });
    // 2 * w + 2x
    expect(Array.from(out.data)).toEqual([26, 208]);
  });

  test('stopGradient cuts the path; an unconnected x gets zeros of its shape', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [2], 'x');
    const z = g.placeholder('float64', [null, 2], 'z');
    const y = ops.add(ops.square(x), ops.mul(ops.stopGradient(ops.square(x)), 5));
    const [dx, dz] = gradients(y, [x, z]);
    const out = await new Session(g).run([dx, dz], { x: f64([1, 2]), z: f64([1, 1, 1, 1, 1, 1], [3, 2]) });
    expect(Array.from(out[0].data)).toEqual([2, 4]);
    expect(out[1].shape).toEqual([3, 2]);
    expect(Array.from(out[1].data)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test('gradient with respect to an intermediate tensor, and through identity', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [2], 'x');
    const h = ops.mul(x, 3);
    const y = ops.square(ops.identity(h));
    const [dh, dx] = gradients(y, [h, x]);
    const out = await new Session(g).run([dh, dx], { x: f64([1, 2]) });
    expect(Array.from(out[0].data)).toEqual([6, 12]);
    expect(Array.from(out[1].data)).toEqual([18, 36]);
  });

  test('integer paths carry no gradient: indices, casts to int, argMax', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [4], 'x');
    const idx = ops.cast(ops.argMax(x, 0), 'int32');
    const picked = ops.gather(x, ops.reshape(idx, [1]));
    const y = ops.add(ops.reduceSum(picked), ops.reduceSum(ops.cast(ops.cast(x, 'int32'), 'float64')));
    const [dx] = gradients(y, [x]);
    const out = await new Session(g).run(dx, { x: f64([0.5, 2.5, -1, 1]) });
    expect(Array.from(out.data)).toEqual([0, 1, 0, 0]);
  });

  test('clear errors: non-float y or x, an op without a gradient on the path, tensors of another graph', () => {
    const g = new Graph();
    const x = g.placeholder('float64', [2], 'x');
    const i = g.placeholder('int32', [2], 'i');
    expect(() => gradients(ops.cast(x, 'int32'), [x])).toThrow(/cannot differentiate '.*' of dtype int32: only float tensors/);
    expect(() => gradients(ops.reduceSum(x), [i])).toThrow(/with respect to 'i' of dtype int32/);
    registerOp({ name: 'testOpWithoutGradient', family: 'math', numInputs: 1, infer: (ctx) => [{ ...ctx.inputs[0] }] });
    const y = ops.reduceSum(g.addNode('testOpWithoutGradient', [ops.square(x)], {}, { name: 'mystery' }).output());
    expect(() => gradients(y, [x])).toThrow(GradientError);
    expect(() => gradients(y, [x])).toThrow(/op 'testOpWithoutGradient' \(node 'mystery'\) has no gradient/);
    // ... unless the path through it is cut
    const cut = ops.reduceSum(g.addNode('testOpWithoutGradient', [ops.stopGradient(ops.square(x))]).output());
    expect(gradients(ops.add(cut, ops.reduceSum(x)), [x])[0].shape).toEqual([2]);
    const other = new Graph();
    const z = other.placeholder('float64', [2], 'z');
    expect(() => gradients(ops.reduceSum(x), [z])).toThrow(/another graph/);
  });

  test('gradient nodes live under the gradients/ name scope and are ordinary graph', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 3], 'x');
    const w = g.variable(tensor(new Float32Array(6), [3, 2]), 'w');
    const loss = ops.reduceMean(ops.matmul(x, w, {}, 'dense'));
    const before = g.nodes.length;
    const [dw] = gradients(loss, [w]);
    const added = g.nodes.slice(before);
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((n) => n.name.startsWith('gradients/'))).toBe(true);
    expect(added.some((n) => n.name.startsWith('gradients/dense_grad/'))).toBe(true);
    expect(dw.shape).toEqual([3, 2]);
  });
});

describe('second order', () => {
  test('the Hessian of a cubic matches the closed form', async () => {
    // f(x) = sum_i a_i x_i^3 + x^T B x + c . x  =>  H = diag(6 a_i x_i) + B + B^T
    const n = 4;
    const a = [0.5, -1, 2, 0.25];
    const B = [1, 2, 0, -1, 0.5, 0, 3, 1, -2, 1, 0, 0.5, 0, 0, 1, 2];
    const c = [1, -1, 0.5, 2];
    const g = new Graph();
    const x = g.placeholder('float64', [n], 'x');
    const cubic = ops.reduceSum(ops.mul(g.constant(f64(a)), ops.mul(x, ops.square(x))));
    const xc = ops.reshape(x, [n, 1]);
    const quad = ops.reduceSum(ops.matmul(ops.matmul(xc, g.constant(tensor(B, [n, n], 'float64')), { transposeA: true }), xc));
    const f = ops.add(ops.add(cubic, quad), ops.reduceSum(ops.mul(g.constant(f64(c)), x)));
    const [grad] = gradients(f, [x]);
    // row i of H = d(grad_i)/dx, via the gradient of grad . e_i
    const e = g.placeholder('float64', [n], 'e');
    const [row] = gradients(ops.reduceSum(ops.mul(grad, e)), [x]);
    const sess = new Session(g);
    const xv = [0.3, -1.2, 2, 0.7];
    for (let i = 0; i < n; i++) {
      const unit = new Array(n).fill(0);
      unit[i] = 1;
      const out = await sess.run(row, { x: f64(xv), e: f64(unit) });
      for (let j = 0; j < n; j++) {
        const expected = (i === j ? 6 * a[i] * xv[i] : 0) + B[i * n + j] + B[j * n + i];
        expect(out.data[j]).toBeCloseTo(expected, 12);
      }
    }
    // and the gradient itself: 3 a x^2 + (B + B^T) x + c
    const gv = await sess.run(grad, { x: f64(xv) });
    for (let i = 0; i < n; i++) {
      let s = 3 * a[i] * xv[i] ** 2 + c[i];
      for (let j = 0; j < n; j++) s += (B[i * n + j] + B[j * n + i]) * xv[j];
      expect(gv.data[i]).toBeCloseTo(s, 12);
    }
  });

  test('third derivative of x^4 is 24x', async () => {
    const g = new Graph();
    const x = g.placeholder('float64', [3], 'x');
    const [d1] = gradients(ops.pow(x, 4), [x]);
    const [d2] = gradients(d1, [x]);
    const [d3] = gradients(d2, [x]);
    const out = await new Session(g).run([d1, d2, d3], { x: f64([0.5, -2, 3]) });
    const expected = [[0.5, -32, 108], [3, 48, 108], [12, -48, 72]];
    expected.forEach((row, k) => row.forEach((v, i) => expect(out[k].data[i]).toBeCloseTo(v, 10)));
  });

  test('Hessian-vector product and a gradient penalty of an MLP pass checkGradients', async () => {
    const w1 = values([3, 4], 1);
    const w2 = values([4, 2], 2);
    await checkGradients(
      (x, v) => {
        const g = x.graph;
        const h = ops.tanh(ops.matmul(x, g.constant(w1)));
        const f = ops.reduceSum(ops.square(ops.matmul(h, g.constant(w2))));
        const [dx] = gradients(f, [x]);
        const [hv] = gradients(ops.reduceSum(ops.mul(dx, v)), [x]);
        return [hv, ops.reduceSum(ops.square(dx))];
      },
      [values([2, 3], 3), values([2, 3], 4)],
      { wrt: [0] },
    );
  });
});
