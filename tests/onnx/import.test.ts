/**
 * ONNX import beyond the conformance suites: dynamic shapes (dynamicAttrs at run time), external
 * data, names, folding, and hostile files, each of which must give a typed error (never a crash,
 * hang or huge allocation).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FormatError, GraphcError, Session, UnsupportedOpError, importOnnx, loadModel, onnx, tensor } from 'graphc';
import { NodeSpec, buildModel, modelProto } from './onnx-builder';

const I64 = 7;
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-onnx-import-'));
});

/** x [batch, 2, 3] to `flat` by Shape -> Gather -> Concat -> Reshape, as PyTorch exports view(x.size(0), -1) (initializers zero, minus1, ax0). */
const FLATTEN: NodeSpec[] = [
  { op: 'Shape', inputs: ['x'], outputs: ['s'] },
  { op: 'Gather', inputs: ['s', 'zero'], outputs: ['b'], attrs: { axis: 0 } },
  { op: 'Unsqueeze', inputs: ['b', 'ax0'], outputs: ['b1'] },
  { op: 'Concat', inputs: ['b1', 'minus1'], outputs: ['target'], attrs: { axis: 0 } },
  { op: 'Reshape', inputs: ['x', 'target'], outputs: ['flat'] },
];

/** The flatten then a relu (`tail` in place of the -1). */
const dynamicFlatten = (tail = -1) =>
  buildModel({
    inputs: [{ name: 'x', shape: ['batch', 2, 3] }],
    outputs: [{ name: 'y', shape: ['batch', 6] }],
    initializers: { zero: tensor([0], [], 'int64'), minus1: tensor([tail], [1], 'int64'), ax0: tensor([0], [1], 'int64') },
    nodes: [...FLATTEN, { op: 'Relu', inputs: ['flat'], outputs: ['y'] }],
  });

describe('ONNX import', () => {
  test('a dynamic batch runs through shape arithmetic computed at run time, at any batch size', async () => {
    const { graph, signature } = importOnnx(dynamicFlatten());
    expect(signature).toEqual({ inputs: ['x'], outputs: ['y'] });
    expect(graph.nodes.some((n) => n.op === 'dynamicAttrs')).toBe(true);
    const s = new Session(graph);
    for (const batch of [1, 3]) {
      const data = Array.from({ length: batch * 6 }, (_, i) => i - 4);
      const [y] = await s.run(['y'], { x: tensor(data, [batch, 2, 3]) });
      expect(y.shape).toEqual([batch, 6]);
      expect(Array.from(y.data)).toEqual(data.map((v) => Math.max(v, 0)));
    }
    // each plan knows its batch: the shape arithmetic folds and the Reshape is a plain reshape
    const plans = s.plans();
    expect(plans).toHaveLength(2);
    for (const plan of plans) expect(plan.schedule.map((n) => n.op)).toEqual(['placeholder', 'reshape', 'relu']);
    // unoptimized, the same numbers come through the run-time path
    const [y0] = await new Session(graph, { optimize: 0 }).run(['y'], { x: tensor([1, -2, 3, -4, 5, -6], [1, 2, 3]) });
    expect(Array.from(y0.data)).toEqual([1, 0, 3, 0, 5, 0]);
  });

  test('shape arithmetic on a Reshape that simplify resolves folds too: constant folding and simplify run until neither changes the graph', async () => {
    // Range's length is the reshaped tensor's width: known only once simplify has made the Reshape a
    // plain reshape, and the Range's size only once simplify has resolved it in turn
    const { graph } = importOnnx(
      buildModel({
        inputs: [{ name: 'x', shape: ['batch', 2, 3] }],
        outputs: [{ name: 'y' }],
        initializers: { zero: tensor([0], [], 'int64'), one: tensor([1], [], 'int64'), minus1: tensor([-1], [1], 'int64'), ax0: tensor([0], [1], 'int64') },
        nodes: [
          ...FLATTEN,
          { op: 'Shape', inputs: ['flat'], outputs: ['s2'] },
          { op: 'Gather', inputs: ['s2', 'one'], outputs: ['width'], attrs: { axis: 0 } },
          { op: 'Range', inputs: ['zero', 'width', 'one'], outputs: ['r'] },
          { op: 'Cast', inputs: ['r'], outputs: ['rf'], attrs: { to: 1 } },
          { op: 'Add', inputs: ['flat', 'rf'], outputs: ['sum'] },
          { op: 'Relu', inputs: ['sum'], outputs: ['y'] },
        ],
      }),
    );
    const s = new Session(graph);
    const data = [-3, -2, -1, 0, 1, 2, -6, -5, -4, -3, -2, -1];
    const [y] = await s.run(['y'], { x: tensor(data, [2, 2, 3]) });
    expect(Array.from(y.data)).toEqual(data.map((v, i) => Math.max(v + (i % 6), 0)));
    // the Range folded to a constant, so the add and relu fuse into one kernel after the reshape
    expect(s.plans()[0].schedule.map((n) => n.op).filter((op) => op !== 'const')).toEqual(['placeholder', 'reshape', 'fusedElementwise']);
    const passes = s.plans()[0].passes.map((p) => p.name);
    expect(passes.filter((p) => p === 'simplify').length).toBeGreaterThan(2);
  });

  test('an RMS norm written in plain ops (Pow, ReduceMean, Add, Sqrt, Div, Mul), as torch.onnx exports a Llama, runs as one rmsNorm', async () => {
    const { graph } = importOnnx(
      buildModel({
        inputs: [{ name: 'x', shape: ['batch', 4, 8] }],
        outputs: [{ name: 'y' }],
        initializers: { two: tensor([2], [], 'float32'), eps: tensor([1e-6], [], 'float32'), one: tensor([1], [], 'float32'), w: tensor(Array.from({ length: 8 }, (_, i) => 1 + i / 10), [8]) },
        nodes: [
          { op: 'Pow', inputs: ['x', 'two'], outputs: ['sq'] },
          { op: 'ReduceMean', inputs: ['sq'], outputs: ['ms'], attrs: { axes: [-1], keepdims: 1 } },
          { op: 'Add', inputs: ['ms', 'eps'], outputs: ['a'] },
          { op: 'Sqrt', inputs: ['a'], outputs: ['r'] },
          { op: 'Div', inputs: ['one', 'r'], outputs: ['inv'] },
          { op: 'Mul', inputs: ['x', 'inv'], outputs: ['n'] },
          { op: 'Mul', inputs: ['w', 'n'], outputs: ['y'] },
        ],
      }),
    );
    const data = Array.from({ length: 2 * 4 * 8 }, (_, i) => Math.cos(i * 0.9) * 3);
    const s = new Session(graph);
    const [y] = await s.run(['y'], { x: tensor(data, [2, 4, 8]) });
    expect(s.plans()[0].schedule.map((n) => n.op).filter((op) => op !== 'const')).toEqual(['placeholder', 'rmsNorm']);
    for (let r = 0; r < 8; r++) {
      const row = data.slice(r * 8, r * 8 + 8);
      const inv = 1 / Math.sqrt(row.reduce((a, v) => a + v * v, 0) / 8 + 1e-6);
      row.forEach((v, i) => expect(Math.abs(y.data[r * 8 + i] - v * inv * (1 + i / 10))).toBeLessThan(1e-5));
    }
  });

  test('a Reshape whose folded target cannot fit its input still fails when it runs, naming the node', async () => {
    const { graph } = importOnnx(dynamicFlatten(5));
    await expect(new Session(graph).run(['y'], { x: tensor(new Array(12).fill(1), [2, 2, 3]) })).rejects.toThrow(
      "op 'reshape' (node 'flat'): cannot reshape [2, 2, 3] to [2, 5]: 12 elements vs 10",
    );
  });

  test('a Reshape by a known target of an input of unknown batch and length keeps the dims the target fixes', async () => {
    // [batch, length, 8] as [batch, length, 2, 4] (an attention's head split): 0 copies a dim unknown
    // at import, so the Reshape resolves at run time, but the heads and the head size are known now
    const { graph } = importOnnx(
      buildModel({
        inputs: [{ name: 'x', shape: [null, null, 8] }],
        outputs: [{ name: 'y' }],
        initializers: { target: tensor([0, 0, 2, -1], [4], 'int64') },
        nodes: [{ op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] }],
      }),
    );
    expect(graph.tensor('y').shape).toEqual([null, null, 2, null]);
    const [y] = await new Session(graph).run(['y'], { x: tensor(Array.from({ length: 24 }, (_, i) => i), [3, 1, 8]) });
    expect(y.shape).toEqual([3, 1, 2, 4]);
    const fixed = importOnnx(
      buildModel({
        inputs: [{ name: 'x', shape: [null, null, 8] }],
        outputs: [{ name: 'y' }],
        initializers: { target: tensor([0, 0, 2, 4], [4], 'int64') },
        nodes: [{ op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] }],
      }),
    );
    expect(fixed.graph.tensor('y').shape).toEqual([null, null, 2, 4]);
  });

  test('with a static batch the same subgraph folds to constants at import', () => {
    const proto = modelProto({
      inputs: [{ name: 'x', shape: [4, 2, 3] }],
      outputs: [{ name: 'y' }],
      initializers: { zero: tensor([0], [], 'int64'), minus1: tensor([-1], [1], 'int64'), ax0: tensor([0], [1], 'int64') },
      nodes: onnx.ModelProto.decode(dynamicFlatten()).graph!.node!.map((n): NodeSpec => ({ op: n.opType!, inputs: n.input!, outputs: n.output!, attrs: n.opType === 'Gather' ? { axis: 0 } : n.opType === 'Concat' ? { axis: 0 } : {} })),
    });
    const { graph } = importOnnx(onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish());
    expect(graph.nodes.map((n) => n.op)).toEqual(['placeholder', 'reshape', 'relu']);
    expect(graph.tensor('y').shape).toEqual([4, 6]);
  });

  test('names that are not graphc names are sanitized; an output may be an input', async () => {
    const { graph, signature } = importOnnx(
      buildModel({
        inputs: [{ name: 'input:0', shape: [2] }],
        outputs: [{ name: 'out put' }, { name: 'input:0' }],
        nodes: [{ op: 'Neg', inputs: ['input:0'], outputs: ['out put'] }],
      }),
    );
    expect(signature.inputs).toEqual(['input_0']);
    expect(signature.outputs).toEqual(['out_put', 'input_0']);
    const [a, b] = await new Session(graph).run(signature.outputs, { input_0: tensor([1, -2], [2]) });
    expect(Array.from(a.data)).toEqual([-1, 2]);
    expect(Array.from(b.data)).toEqual([1, -2]);
    expect((graph.metadata.onnx as { inputs: Record<string, string> }).inputs).toEqual({ 'input:0': 'input_0' });
  });

  test('initializers are read from external data inside the model folder', async () => {
    const folder = fs.mkdtempSync(path.join(dir, 'ext-'));
    const weights = new Float32Array([1.5, -2, 3, 0.25]);
    fs.writeFileSync(path.join(folder, 'model.onnx.data'), Buffer.concat([Buffer.alloc(16), Buffer.from(weights.buffer)]));
    const proto = modelProto({ inputs: [{ name: 'x', shape: [4] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Mul', inputs: ['x', 'w'], outputs: ['y'] }] });
    const external = (location: string, offset: number, length: number) => ({
      name: 'w',
      dims: [4],
      dataType: 1,
      dataLocation: 1,
      externalData: [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ],
    });
    const write = (init: object, name: string) => {
      proto.graph!.initializer = [init];
      const file = path.join(folder, name);
      fs.writeFileSync(file, onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish());
      return file;
    };
    const model = await loadModel(write(external('model.onnx.data', 16, 16), 'model.onnx'));
    const [y] = await new Session(model.graph).run(['y'], { x: tensor([1, 1, 2, 2], [4]) });
    expect(Array.from(y.data)).toEqual([1.5, -2, 6, 0.5]);
    await expect(loadModel(write(external('../outside.data', 0, 16), 'escape.onnx'))).rejects.toThrow(/escapes the model's folder/);
    await expect(loadModel(write(external('/etc/passwd', 0, 16), 'absolute.onnx'))).rejects.toThrow(FormatError);
    await expect(loadModel(write(external('model.onnx.data', 24, 16), 'past-end.onnx'))).rejects.toThrow(/lies outside/);
    await expect(loadModel(write(external('model.onnx.data', 16, 12), 'short.onnx'))).rejects.toThrow(/needs 16/);
    await expect(loadModel(write(external('missing.data', 0, 16), 'missing.onnx'))).rejects.toThrow(FormatError);
  });

  test('every unsupported op of a model is listed in one UnsupportedOpError', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', shape: [2] }],
      outputs: [{ name: 'z' }],
      nodes: [
        { op: 'StringNormalizer', inputs: ['x'], outputs: ['a'] },
        { op: 'Relu', inputs: ['a'], outputs: ['b'] },
        { op: 'Foo', inputs: ['b'], outputs: ['c'], domain: 'com.example' },
        { op: 'OptionalHasElement', inputs: ['c'], outputs: ['z'] },
      ],
    });
    let error: unknown;
    try {
      importOnnx(bytes);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedOpError);
    expect((error as UnsupportedOpError).ops).toEqual(['OptionalHasElement', 'StringNormalizer', 'com.example:Foo']);
  });

  describe('hostile files give typed errors', () => {
    const valid = buildModel({
      inputs: [{ name: 'x', shape: [2, 3] }],
      outputs: [{ name: 'y' }],
      initializers: { w: tensor([1, 2, 3, 4, 5, 6], [3, 2]) },
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    const expectTyped = (fn: () => unknown, pattern?: RegExp) => {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(GraphcError);
      if (pattern) expect((error as Error).message).toMatch(pattern);
    };

    test('truncated at every length', () => {
      for (let n = 0; n < valid.length; n++) {
        try {
          importOnnx(valid.subarray(0, n));
        } catch (e) {
          if (!(e instanceof GraphcError)) throw new Error(`truncated to ${n} bytes: untyped ${String(e)}`);
        }
      }
    });

    test('garbage bytes', () => {
      expectTyped(() => importOnnx(Buffer.from('not an onnx model at all, just text')), /not a valid ONNX protobuf|has no graph/);
    });

    /** Decoding makes the graph a GraphProto, whose repeated fields are arrays (the message types leave them optional). */
    const mutate = (edit: (m: onnx.ModelProto & { graph: onnx.GraphProto }) => void) => {
      const m = onnx.ModelProto.decode(valid);
      const graph = m.graph;
      if (!(graph instanceof onnx.GraphProto)) throw new Error('the model to mutate has no graph');
      edit(Object.assign(m, { graph }));
      return onnx.ModelProto.encode(m).finish();
    };

    test('huge declared dims over a few bytes of data', () => {
      expectTyped(() => importOnnx(mutate((m) => (m.graph.initializer[0].dims = [1e9, 1e9]))), /bytes of data|more elements/);
      expectTyped(() => importOnnx(mutate((m) => (m.graph.initializer[0].dims = [2 ** 40, 2 ** 40, 2 ** 40]))));
    });

    test('negative sizes', () => {
      expectTyped(() => importOnnx(mutate((m) => (m.graph.initializer[0].dims = [-3, -2]))), /not a non-negative/);
      expectTyped(() => importOnnx(mutate((m) => (m.graph.input[0].type!.tensorType!.shape!.dim![0].dimValue = -5))), /dimension 0 of -5/);
    });

    test('a declared input too large to ever feed', () => {
      expectTyped(() => importOnnx(mutate((m) => (m.graph.input[0].type!.tensorType!.shape!.dim![0].dimValue = 1e12))), /more than graphc allows/);
    });

    test('a cycle', () => {
      const bytes = buildModel({
        inputs: [{ name: 'x', shape: [2] }],
        outputs: [{ name: 'b' }],
        nodes: [
          { op: 'Add', inputs: ['x', 'b'], outputs: ['a'] },
          { op: 'Relu', inputs: ['a'], outputs: ['b'] },
        ],
      });
      expectTyped(() => importOnnx(bytes), /cycle/);
    });

    test('a missing input and a missing output', () => {
      expectTyped(() => importOnnx(mutate((m) => (m.graph.node[0].input = ['x', 'nowhere']))), /'nowhere'.*not defined/);
      expectTyped(() => importOnnx(mutate((m) => (m.graph.output[0].name = 'ghost'))), /'ghost' is not produced/);
    });

    test('a value produced twice, wrong shapes, an unknown opset', () => {
      expectTyped(() => importOnnx(mutate((m) => m.graph.node.push(onnx.NodeProto.create({ opType: 'Relu', input: ['x'], output: ['y'] })))), /produced twice/);
      expectTyped(() => importOnnx(mutate((m) => (m.graph.initializer[0].dims = [2, 3]))), /inner dimensions/);
      expectTyped(() => importOnnx(mutate((m) => (m.opsetImport[0].version = 99))), /opset 99/);
    });

    test('a constant whose shape asks for too many elements, at import and at run time', async () => {
      const big = (shapeValue: number[], asInput: boolean) =>
        buildModel({
          inputs: asInput ? [{ name: 's', elemType: I64, shape: [3] }] : [{ name: 'x', shape: [1] }],
          outputs: [{ name: 'y' }],
          initializers: asInput ? {} : { s: tensor(shapeValue, [shapeValue.length], 'int64') },
          nodes: [{ op: 'ConstantOfShape', inputs: ['s'], outputs: ['y'] }],
        });
      expectTyped(() => importOnnx(big([100000, 100000, 100000], false)), /more than graphc allows/);
      const { graph } = importOnnx(big([3], true));
      const s = new Session(graph);
      const [ok] = await s.run(['y'], { s: tensor([2, 3, 1], [3], 'int64') });
      expect(ok.shape).toEqual([2, 3, 1]);
      await expect(s.run(['y'], { s: tensor([100000, 100000, 100000], [3], 'int64') })).rejects.toThrow(GraphcError);
      await expect(s.run(['y'], { s: tensor([-4, 2, 1], [3], 'int64') })).rejects.toThrow(GraphcError);
    });
  });
});
