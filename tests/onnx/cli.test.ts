/** `graphc run x.onnx --inputs DIR`, `graphc convert` both ways, and exit 2 for bad ONNX files. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Graph, Session, encodeTensor, ops, saveModel, tensor, tensorToProto } from 'graphc';
import { runInOrt } from '../../scripts/conformance-harness';
import { buildModel } from './onnx-builder';

const BIN = path.resolve(__dirname, '../../packages/cli/bin/graphc.js');
const graphc = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

let dir: string;
let model: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-onnx-cli-'));
  model = path.join(dir, 'model.onnx');
  // y = relu(x @ w + b), z = argmax(y)
  fs.writeFileSync(
    model,
    buildModel({
      inputs: [{ name: 'x', shape: ['n', 3] }],
      outputs: [{ name: 'y' }, { name: 'z', elemType: 7 }],
      initializers: { w: tensor([1, -1, 2, 0, 0.5, 1], [3, 2]), b: tensor([0.5, -4], [2]) },
      nodes: [
        { op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['h'] },
        { op: 'Relu', inputs: ['h'], outputs: ['y'] },
        { op: 'ArgMax', inputs: ['y'], outputs: ['z'], attrs: { axis: 1, keepdims: 0 } },
      ],
    }),
  );
  const inputs = path.join(dir, 'test_data_set_0');
  fs.mkdirSync(inputs);
  fs.writeFileSync(path.join(inputs, 'input_0.pb'), encodeTensor(tensorToProto(tensor([1, 2, 3, -1, 0, 4], [2, 3]), 'x')));
});

describe('graphc and ONNX files', () => {
  test('run --inputs reads TensorProto files and prints the outputs', () => {
    const r = graphc('run', model, '--inputs', path.join(dir, 'test_data_set_0'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // h = [[1*1+2*2+3*0.5+0.5, -1+0+3-4], [-1+0+2+0.5, 1+0+4-4]] = [[7, -2], [1.5, 1]]
    expect(JSON.parse(r.stdout)).toEqual({
      y: { dtype: 'float32', shape: [2, 2], data: [7, 0, 1.5, 1] },
      z: { dtype: 'int64', shape: [2], data: [0, 0] },
    });
  });

  test('--inputs binds by position when the file names no input', () => {
    const other = path.join(dir, 'unnamed');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'input_0.pb'), encodeTensor(tensorToProto(tensor([0, 0, 2], [1, 3]), '')));
    const r = graphc('run', model, '--inputs', other, '--fetch', 'y');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).y.data).toEqual([1.5, 0]);
  });

  test('convert .onnx -> model.json -> .onnx keeps the outputs', async () => {
    const json = path.join(dir, 'converted.json');
    const back = path.join(dir, 'back.onnx');
    expect(graphc('convert', model, json).code).toBe(0);
    const viaJson = graphc('run', json, '--inputs', path.join(dir, 'test_data_set_0'));
    expect(viaJson.code).toBe(0);
    expect(JSON.parse(viaJson.stdout).y.data).toEqual([7, 0, 1.5, 1]);
    expect(graphc('convert', json, back).code).toBe(0);
    const [y, z] = await runInOrt(fs.readFileSync(back), { x: tensor([1, 2, 3, -1, 0, 4], [2, 3]) }, ['y', 'z']);
    expect(Array.from(y.data)).toEqual([7, 0, 1.5, 1]);
    expect(Array.from(z.data)).toEqual([0, 0]);
  });

  test('convert --contrib-ops keeps 4-bit weights packed as MatMulNBits (default: a MatMul of them dequantized)', async () => {
    const g = new Graph();
    const a = g.placeholder('float32', [null, 32], 'a');
    const words = Array.from({ length: 3 * 4 }, (_, i) => Math.imul(i + 7, 40503) | 0);
    const c = (v: number[], shape: number[], dtype: 'int32' | 'float32' = 'float32') => g.constant(tensor(v, shape, dtype));
    ops.matmulNBits(a, c(words, [3, 4], 'int32'), c([0.1, 0.2, 0.3], [3, 1]), c([8, 7, 9], [3, 1]), { bits: 4, blockSize: 32, k: 32 }, 'y');
    g.metadata.signature = { inputs: ['a'], outputs: ['y'] };
    const json = path.join(dir, 'int4.json');
    await saveModel(g, json);
    const feeds = { a: tensor(Array.from({ length: 64 }, (_, i) => (i % 9) - 4), [2, 32]) };
    const [ours] = await new Session(g).run(['y'], feeds);
    for (const flags of [[], ['--contrib-ops']]) {
      const out = path.join(dir, `int4${flags.length}.onnx`);
      const r = graphc('convert', json, out, ...flags);
      expect(r.stderr).toBe('');
      expect(fs.readFileSync(out).includes(Buffer.from('MatMulNBits'))).toBe(flags.length > 0);
      const [theirs] = await runInOrt(fs.readFileSync(out), feeds, ['y']);
      Array.from(theirs.data).forEach((v, i) => expect(v).toBeCloseTo(ours.data[i], 4));
    }
  });

  test('convert model.json -> .onnx writes trained variables as initializers', async () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 2], 'x');
    const w = g.variable(tensor([1, 2, 3, 4], [2, 2]), 'w');
    ops.tanh(ops.matmul(x, w), 'y');
    g.metadata.signature = { inputs: ['x'], outputs: ['y'] };
    const s = new Session(g);
    await s.run(g.globalVariablesInitializer());
    await s.run(ops.assign(w, tensor([0.5, -0.5, 0.25, 1], [2, 2])));
    const json = path.join(dir, 'trained.json');
    await saveModel(g, json, { session: s });
    const out = path.join(dir, 'trained.onnx');
    const r = graphc('convert', json, out);
    expect(r.stderr).toBe('');
    const [ours] = await s.run(['y'], { x: tensor([1, 2], [1, 2]) });
    const [theirs] = await runInOrt(fs.readFileSync(out), { x: tensor([1, 2], [1, 2]) }, ['y']);
    // tanh([1, 2] @ trained w) = tanh([1, 1.5]); the initial w would give tanh([7, 10])
    expect(Array.from(ours.data)).toEqual([Math.fround(Math.tanh(1)), Math.fround(Math.tanh(1.5))]);
    Array.from(theirs.data).forEach((v, i) => expect(v).toBeCloseTo(ours.data[i], 6));
  });

  test.each([
    ['a truncated model', (b: Buffer) => b.subarray(0, b.length - 7), /model '.*': |not a valid ONNX/],
    ['a model of garbage', () => Buffer.from('\x08\x07\x12\xff\xff\xff\xff\x0f'), /not a valid ONNX|has no graph/],
  ])('%s: exit 2 with a one-line reason', (_label, mangle, reason) => {
    const bad = path.join(dir, `bad-${Math.random()}.onnx`);
    fs.writeFileSync(bad, mangle(fs.readFileSync(model)));
    const r = graphc('run', bad, '--inputs', path.join(dir, 'test_data_set_0'));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(reason);
  });

  test('bad --inputs folders exit 2', () => {
    expect(graphc('run', model, '--inputs', path.join(dir, 'nope')).code).toBe(2);
    const empty = fs.mkdtempSync(path.join(dir, 'empty-'));
    expect(graphc('run', model, '--inputs', empty).stderr).toMatch(/holds no input_0.pb/);
    const garbage = fs.mkdtempSync(path.join(dir, 'garbage-'));
    fs.writeFileSync(path.join(garbage, 'input_0.pb'), Buffer.from([0x08, 0x01, 0x08, 0x02, 0x10, 0x01, 0x4a, 0x04, 1, 2]));
    const r = graphc('run', model, '--inputs', garbage);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/input_0.pb/);
  });
});
