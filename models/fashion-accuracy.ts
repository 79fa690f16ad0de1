/**
 * Test accuracy of a trained Fashion-MNIST model, computed apart from `graphc train`: its own IDX
 * parsing, a fresh process and session on the saved model file, arg-max of the model's declared
 * output against the t10k labels.
 *
 *   node scripts/ts-run.js models/fashion-accuracy.ts MODEL.json [DATA_DIR]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { Session, initializeFromModel, loadModel, tensor } from 'graphc';

function idx(file: string): { dims: number[]; bytes: Buffer } {
  const raw = zlib.gunzipSync(fs.readFileSync(file));
  const rank = raw[3];
  const dims = Array.from({ length: rank }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  return { dims, bytes: raw.subarray(4 + 4 * rank) };
}

async function main(): Promise<void> {
  const [modelFile, dataDir = '/usr/share/datasets/fashion-mnist'] = process.argv.slice(2);
  const images = idx(path.join(dataDir, 't10k-images-idx3-ubyte.gz'));
  const labels = idx(path.join(dataDir, 't10k-labels-idx1-ubyte.gz'));
  const model = await loadModel(modelFile);
  const input = model.graph.tensor(model.signature.inputs[0]);
  const output = model.graph.tensor(model.signature.outputs[0]);
  const session = new Session(model.graph);
  await initializeFromModel(session, model);
  const n = images.dims[0];
  const per = 28 * 28;
  const exampleShape = input.shape.slice(1).map((d) => d as number);
  let correct = 0;
  for (let start = 0; start < n; start += 500) {
    const count = Math.min(500, n - start);
    const x = Float32Array.from(images.bytes.subarray(start * per, (start + count) * per));
    const probs = await session.run(output, { [input.name]: tensor(x, [count, ...exampleShape]) });
    const classes = probs.data.length / count;
    for (let i = 0; i < count; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (probs.data[i * classes + c] > probs.data[i * classes + best]) best = c;
      if (best === labels.bytes[start + i]) correct++;
    }
  }
  process.stdout.write(`${JSON.stringify({ model: modelFile, examples: n, correct, accuracy: correct / n })}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
