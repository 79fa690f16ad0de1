import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { FormatError, Graph, Session, UnsupportedOpError, initializeFromModel, loadModel, modelFromBytes, ops, saveModel, tensor } from 'graphc';
import { sha256Js } from '../../packages/graph/src/io/sha256';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-model-'));
}

async function buildAndSave(dir: string): Promise<{ file: string; expected: Float32Array }> {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 3], 'x');
  const W = g.variable(tensor([0.1, -0.2, 0.3, 0.4, 0.5, -0.6], [3, 2]), 'W');
  const i = g.variable(tensor([7, 8], [2], 'int64'), 'counter');
  const y = ops.tanh(ops.add(ops.matmul(x, W), 0.25), 'y');
  g.metadata.signature = { inputs: ['x'], outputs: ['y'] };
  const sess = new Session(g);
  await sess.run(g.globalVariablesInitializer());
  await sess.run(ops.assignAdd(i, tensor([2 ** 40, 1], [2], 'int64')));
  const out = await sess.run(y, { x: tensor([1, 2, 3, -1, 0, 1], [2, 3]) });
  const file = path.join(dir, 'model.json');
  await saveModel(g, file, { session: sess });
  return { file, expected: out.data as Float32Array };
}

describe('model.json', () => {
  test('round trip: same graph, same variable values bit for bit, same outputs', async () => {
    const dir = tmpDir();
    const { file, expected } = await buildAndSave(dir);
    const loaded = await loadModel(file);
    expect(loaded.signature).toEqual({ inputs: ['x'], outputs: ['y'] });
    expect(loaded.graph.tensor('y').shape).toEqual([null, 2]);
    expect(Array.from(loaded.variables.get('counter')!.data)).toEqual([7 + 2 ** 40, 9]);
    const sess = new Session(loaded.graph);
    await initializeFromModel(sess, loaded);
    const out = await sess.run('y', { x: tensor([1, 2, 3, -1, 0, 1], [2, 3]) });
    expect(Buffer.from(out.data.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    // saving the loaded model again gives the same bytes
    const again = path.join(dir, 'again.json');
    await saveModel(loaded.graph, again, { session: sess });
    const w1 = fs.readFileSync(path.join(dir, 'model.weights.bin'));
    const w2 = fs.readFileSync(path.join(dir, 'again.weights.bin'));
    expect(w1.equals(w2)).toBe(true);
  });

  test('unknown dimensions are -1 on disk', async () => {
    const dir = tmpDir();
    const { file } = await buildAndSave(dir);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const x = doc.nodes.find((n: { name: string }) => n.name === 'x');
    expect(x.attrs.shape).toEqual([-1, 3]);
    expect(x.outputs[0].shape).toEqual([-1, 3]);
  });

  test('truncated weights: FormatError naming the file', async () => {
    const dir = tmpDir();
    const { file } = await buildAndSave(dir);
    const w = path.join(dir, 'model.weights.bin');
    fs.writeFileSync(w, fs.readFileSync(w).subarray(0, 10));
    await expect(loadModel(file)).rejects.toThrow(FormatError);
    await expect(loadModel(file)).rejects.toThrow(/model.weights.bin' has 10 bytes/);
  });

  test('corrupt weights: checksum failure names the entry', async () => {
    const dir = tmpDir();
    const { file } = await buildAndSave(dir);
    const w = path.join(dir, 'model.weights.bin');
    const bytes = fs.readFileSync(w);
    bytes[3] ^= 0xff;
    fs.writeFileSync(w, bytes);
    await expect(loadModel(file)).rejects.toThrow(/weights entry '.*' fails its checksum/);
  });

  test('a weights path escaping the folder is refused', async () => {
    const dir = tmpDir();
    const { file } = await buildAndSave(dir);
    for (const bad of ['../model.weights.bin', '/etc/passwd', 'sub/../../x.bin']) {
      const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
      doc.weights.file = bad;
      fs.writeFileSync(file, JSON.stringify(doc));
      await expect(loadModel(file)).rejects.toThrow(/escapes the model's folder|must be a relative path/);
    }
  });

  test('a symlinked weights file pointing outside is refused', async () => {
    const dir = tmpDir();
    const { file } = await buildAndSave(dir);
    const outside = tmpDir();
    fs.renameSync(path.join(dir, 'model.weights.bin'), path.join(outside, 'w.bin'));
    fs.symlinkSync(path.join(outside, 'w.bin'), path.join(dir, 'model.weights.bin'));
    await expect(loadModel(file)).rejects.toThrow(/links outside the model's folder/);
  });

  test('unsupported ops are all listed; bad JSON and unknown versions are FormatErrors', async () => {
    const dir = tmpDir();
    const { file } = await buildAndSave(dir);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.nodes[doc.nodes.length - 1].op = 'frobnicate';
    doc.nodes[0].op = 'quux';
    fs.writeFileSync(file, JSON.stringify(doc));
    const err = await loadModel(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedOpError);
    expect((err as UnsupportedOpError).ops.sort()).toEqual(['frobnicate', 'quux']);
    fs.writeFileSync(file, '{ not json');
    await expect(loadModel(file)).rejects.toThrow(/is not valid JSON/);
    fs.writeFileSync(file, JSON.stringify({ ...doc, version: 99 }));
    await expect(loadModel(file)).rejects.toThrow(/version 99 is not supported/);
    await expect(loadModel(path.join(dir, 'missing.json'))).rejects.toThrow(/cannot be read: ENOENT/);
  });

  test('a source with a negative or unknown dimension where none may be is a FormatError naming the node', async () => {
    const dir = tmpDir();
    const { file } = await buildAndSave(dir);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const original = JSON.stringify(doc);
    // the placeholder 'x' ([-1, 3] on disk) read as a variable: -1 is no variable dimension
    doc.nodes.find((n: { name: string }) => n.name === 'x').op = 'variable';
    fs.writeFileSync(file, JSON.stringify(doc));
    await expect(loadModel(file)).rejects.toThrow(/node 'x'.*attr 'shape' must be a list of non-negative integers/);
    const placeholder = JSON.parse(original);
    placeholder.nodes.find((n: { name: string }) => n.name === 'x').attrs.shape = [-5, 3];
    fs.writeFileSync(file, JSON.stringify(placeholder));
    await expect(loadModel(file)).rejects.toThrow(FormatError);
  });

  test('modelFromBytes (a page fetches both files) gives what loadModel gives, and checks the weights the same way', async () => {
    const dir = tmpDir();
    const { file, expected } = await buildAndSave(dir);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const weights = fs.readFileSync(path.join(dir, doc.weights.file));
    const model = modelFromBytes(doc, weights, 'fetched/model.json');
    const s = new Session(model.graph);
    await initializeFromModel(s, model);
    expect((await s.run('y', { x: tensor([1, 2, 3, -1, 0, 1], [2, 3]) })).data).toEqual(expected);
    const corrupt = Uint8Array.from(weights);
    corrupt[3] ^= 0xff;
    expect(() => modelFromBytes(doc, corrupt, 'fetched/model.json')).toThrow(/fetched\/model.json.*fails its checksum/);
    expect(() => modelFromBytes(doc, weights.subarray(1), 'fetched/model.json')).toThrow(FormatError);
  });

  test("the JavaScript SHA-256 (a page has no Node crypto) agrees with Node's at every padding boundary", () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100003]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
      expect(sha256Js(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });

  test('a node referring to a later node (cycle or bad order) is a FormatError', async () => {
    const dir = tmpDir();
    const { file } = await buildAndSave(dir);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.nodes.reverse();
    fs.writeFileSync(file, JSON.stringify(doc));
    await expect(loadModel(file)).rejects.toThrow(/refers to an input that is not defined before it/);
  });
});
