/**
 * ONNX's training domain (ai.onnx.preview.training) at import: Gradient differentiated by graphc's
 * autodiff, and the optimizer steps Adam, Adagrad and Momentum as elementwise ops. ONNX's own cases
 * (test_adam, test_gradient_of_add, ...) run in conformance.test.ts; these cover what they leave out.
 */
import { Session, TensorValue, UnsupportedOpError, importOnnx, onnx, tensor } from 'graphc';
import { ModelSpec, modelProto } from './onnx-builder';

const TRAINING = 'ai.onnx.preview.training';

/** Imports a model that imports the default domain (opset 17) and the training domain. */
function load(spec: ModelSpec) {
  const proto = modelProto(spec);
  proto.opsetImport!.push({ domain: TRAINING, version: 1 });
  return importOnnx(onnx.ModelProto.encode(proto).finish(), { file: 'training.onnx' });
}

async function run(spec: ModelSpec, feeds: Record<string, TensorValue>): Promise<Record<string, number[]>> {
  const { graph, signature } = load(spec);
  const values = await new Session(graph).run(signature.outputs, feeds);
  return Object.fromEntries(signature.outputs.map((o, i) => [o, Array.from(values[i].data as Float64Array)]));
}

describe('Gradient', () => {
  // y = sum(tanh(x W)) * s: the gradient with respect to x and W, s not differentiated (zs)
  const spec: ModelSpec = {
    inputs: [
      { name: 'x', elemType: 11, shape: [2, 3] },
      { name: 'W', elemType: 11, shape: [3, 2] },
      { name: 's', elemType: 11, shape: [] },
    ],
    outputs: [{ name: 'y', elemType: 11 }, { name: 'dy_dx', elemType: 11 }, { name: 'dy_dW', elemType: 11 }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['h'] },
      { op: 'Tanh', inputs: ['h'], outputs: ['t'] },
      { op: 'ReduceSum', inputs: ['t'], outputs: ['r'], attrs: { keepdims: 0 } },
      { op: 'Mul', inputs: ['r', 's'], outputs: ['y'] },
      { op: 'Gradient', domain: TRAINING, inputs: ['x', 'W', 's'], outputs: ['dy_dx', 'dy_dW'], attrs: { xs: ['x', 'W'], zs: ['s'], y: 'y' } },
    ],
  };
  const x = [0.3, -0.7, 1.1, 0.5, 0.2, -1.4];
  const W = [0.9, -0.4, 0.25, 0.6, -0.8, 0.1];
  const feeds = (xv: number[], wv: number[]) => ({ x: tensor(xv, [2, 3], 'float64'), W: tensor(wv, [3, 2], 'float64'), s: tensor([1.5], [], 'float64') });

  test("matches central differences of the model's own y", async () => {
    const got = await run(spec, feeds(x, W));
    const h = 1e-6;
    const numeric = async (which: 'x' | 'W', i: number) => {
      const bump = (d: number) => (which === 'x' ? feeds(x.map((v, k) => (k === i ? v + d : v)), W) : feeds(x, W.map((v, k) => (k === i ? v + d : v))));
      return ((await run(spec, bump(h))).y[0] - (await run(spec, bump(-h))).y[0]) / (2 * h);
    };
    for (let i = 0; i < 6; i++) {
      expect(got.dy_dx[i]).toBeCloseTo(await numeric('x', i), 7);
      expect(got.dy_dW[i]).toBeCloseTo(await numeric('W', i), 7);
    }
  });

  test('zeros for an x the y does not depend on; y computed from initializers alone is refused', async () => {
    const unrelated: ModelSpec = {
      inputs: [{ name: 'a', shape: [2] }, { name: 'b', shape: [3] }],
      outputs: [{ name: 'da' }, { name: 'db' }],
      nodes: [
        { op: 'Mul', inputs: ['a', 'a'], outputs: ['y'] },
        { op: 'Gradient', domain: TRAINING, inputs: ['a', 'b'], outputs: ['da', 'db'], attrs: { xs: ['a', 'b'], y: 'y' } },
      ],
    };
    const got = await run(unrelated, { a: tensor([2, -3], [2]), b: tensor([1, 1, 1], [3]) });
    expect(got.da).toEqual([4, -6]);
    expect(got.db).toEqual([0, 0, 0]);
    const folded: ModelSpec = {
      inputs: [{ name: 'a', shape: [2] }],
      outputs: [{ name: 'dc' }],
      initializers: { c: tensor([1, 2], [2]) },
      nodes: [
        { op: 'Neg', inputs: ['c'], outputs: ['y'] },
        { op: 'Gradient', domain: TRAINING, inputs: ['c'], outputs: ['dc'], attrs: { xs: ['c'], y: 'y' } },
      ],
    };
    expect(() => load(folded)).toThrow(UnsupportedOpError);
    expect(() => load(folded)).toThrow(/training\.onnx': node 'n1' \(Gradient\): x 'c' is known at import/);
  });
});

describe('optimizer steps', () => {
  const R = 0.1;
  const T = 3;
  const x = [1, -2];
  const g = [-0.5, 0.25];
  const state1 = [0.2, 0.4];
  const state2 = [0.3, 0.05];
  const scalarFeeds = { R: tensor([R], [], 'float64'), T: tensor([T], [], 'int64') };
  const vectors = (names: string[]) => names.map((name) => ({ name, elemType: 11, shape: [2] }));
  const optimizer = (op: string, inputs: string[], outputs: string[], attrs: Record<string, number | string>): ModelSpec => ({
    inputs: [{ name: 'R', elemType: 11, shape: [] }, { name: 'T', elemType: 7, shape: [] }, ...vectors(inputs)],
    outputs: outputs.map((name) => ({ name, elemType: 11 })),
    nodes: [{ op, domain: TRAINING, inputs: ['R', 'T', ...inputs], outputs, attrs }],
  });
  const f64 = (v: number[]) => tensor(v, [2], 'float64');

  // the expected values follow the formulas of ONNX's operator documentation, after the first step (T > 0);
  // attributes are float32 in the file, so the formulas take them rounded so
  const f32 = (...v: number[]) => v.map(Math.fround);
  test('Adam with bias correction, both norm coefficients and epsilon', async () => {
    const [alpha, beta, eps, norm, post] = f32(0.9, 0.99, 1e-3, 0.01, 0.05);
    const got = await run(optimizer('Adam', ['X', 'G', 'V', 'H'], ['X_new', 'V_new', 'H_new'], { alpha, beta, epsilon: eps, norm_coefficient: norm, norm_coefficient_post: post }), {
      ...scalarFeeds, X: f64(x), G: f64(g), V: f64(state1), H: f64(state2),
    });
    const rate = (R * Math.sqrt(1 - beta ** T)) / (1 - alpha ** T);
    x.forEach((xi, i) => {
      const gr = norm * xi + g[i];
      const v = alpha * state1[i] + (1 - alpha) * gr;
      const h = beta * state2[i] + (1 - beta) * gr * gr;
      expect(got.V_new[i]).toBeCloseTo(v, 12);
      expect(got.H_new[i]).toBeCloseTo(h, 12);
      expect(got.X_new[i]).toBeCloseTo((1 - post) * (xi - (rate * v) / (Math.sqrt(h) + eps)), 12);
    });
  });

  test('Adagrad with decay, and its default epsilon (1e-6)', async () => {
    const [decay, norm] = f32(0.1, 0.02);
    const got = await run(optimizer('Adagrad', ['X', 'G', 'H'], ['X_new', 'H_new'], { decay_factor: decay, norm_coefficient: norm }), {
      ...scalarFeeds, X: f64(x), G: f64(g), H: f64(state2),
    });
    x.forEach((xi, i) => {
      const gr = norm * xi + g[i];
      const h = state2[i] + gr * gr;
      expect(got.H_new[i]).toBeCloseTo(h, 12);
      expect(got.X_new[i]).toBeCloseTo(xi - ((R / (1 + T * decay)) * gr) / (Math.sqrt(h) + Math.fround(1e-6)), 12);
    });
  });

  test('Momentum, standard and nesterov, with beta applied after the first step only', async () => {
    const [alpha, beta, norm] = f32(0.9, 0.5, 0.01);
    for (const mode of ['standard', 'nesterov']) {
      for (const t of [0, T]) {
        const got = await run(optimizer('Momentum', ['X', 'G', 'V'], ['X_new', 'V_new'], { alpha, beta, mode, norm_coefficient: norm }), {
          ...scalarFeeds, T: tensor([t], [], 'int64'), X: f64(x), G: f64(g), V: f64(state1),
        });
        x.forEach((xi, i) => {
          const gr = norm * xi + g[i];
          const v = alpha * state1[i] + (t > 0 ? beta : 1) * gr;
          expect(got.V_new[i]).toBeCloseTo(v, 12);
          expect(got.X_new[i]).toBeCloseTo(xi - R * (mode === 'standard' ? v : gr + alpha * v), 12);
        });
      }
    }
  });

  test('bad groupings and a model of training ops that also uses undeclared default-domain ops', () => {
    const odd = optimizer('Adagrad', ['X', 'G'], ['X_new'], {});
    expect(() => load(odd)).toThrow(/node 'n0' \(Adagrad\).*takes R, T and 3 tensors per parameter; got 4 inputs/);
    const spec = optimizer('Momentum', ['X', 'G', 'V'], ['X_new', 'V_new'], { alpha: 0.9, beta: 0.5, mode: 'fast', norm_coefficient: 0.5 });
    expect(() => load(spec)).toThrow(/mode must be 'standard' or 'nesterov', got 'fast'/);
    // only the training domain imported: a default-domain node has no opset to be read with
    const proto = modelProto({ ...optimizer('Adagrad', ['X', 'G', 'H'], ['X_new', 'H_new'], {}), nodes: [...optimizer('Adagrad', ['X', 'G', 'H'], ['X_new', 'H_new'], {}).nodes, { op: 'Neg', inputs: ['X_new'], outputs: ['n'] }] });
    proto.opsetImport = [{ domain: TRAINING, version: 1 }];
    expect(() => importOnnx(onnx.ModelProto.encode(proto).finish(), { file: 'mixed.onnx' })).toThrow(/imports no opset of the default ONNX domain \(only ai\.onnx\.preview\.training\)/);
    proto.graph!.node!.pop();
    expect(() => importOnnx(onnx.ModelProto.encode(proto).finish(), { file: 'alone.onnx' })).not.toThrow();
  });
});
