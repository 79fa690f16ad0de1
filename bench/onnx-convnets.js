#!/usr/bin/env node
/**
 * A channels-first ResNet-20 (CIFAR, 32x32x3, batch 16) written as torch.onnx.export writes one in
 * eval mode: Conv with the batch norm folded into its bias, Relu, Add, GlobalAveragePool, Flatten,
 * Gemm (transB). Imported into graphc and run on its cpu backend, against onnxruntime-node running
 * the same bytes with one intra-op thread and with its default pool. onnxruntime's output is checked
 * against graphc's first. With --profile, graphc's kernel time per op. Median of --runs after 3
 * warm-up runs.
 *
 *   npx tsc -b packages/cli && GRAPHC_CPU_THREADS=1 node bench/onnx-resnet.js [--runs 20] [--profile]
 */
'use strict';
const { loadGraphc, maxAbsDiff, medianMs, parseFlags, seededArray, timePerOp } = require('./common');
const graphc = loadGraphc();
const { Session, encodeModel, importOnnx, tensor, tensorToProto } = graphc;

const { runs: RUNS, profile: PROFILE } = parseFlags({ runs: 20, profile: false });
const [BATCH, SIZE, CLASSES] = [16, 32, 10];

/** The model's bytes: x [BATCH, 3, SIZE, SIZE] in, logits [BATCH, CLASSES] out. */
function resnet20Nchw() {
  let seed = 1;
  const nodes = [];
  const initializers = [];
  const weight = (name, shape, scale) => {
    initializers.push(tensorToProto(tensor(seededArray(shape.reduce((p, d) => p * d, 1), seed++, scale), shape), name));
    return name;
  };
  const node = (opType, input, attrs = {}) => {
    const out = `${opType.toLowerCase()}${nodes.length}`;
    const attribute = Object.entries(attrs).map(([name, v]) => (Array.isArray(v) ? { name, type: 7, ints: v } : { name, type: 2, i: v }));
    nodes.push({ opType, input, output: [out], attribute, name: out });
    return out;
  };
  const conv = (x, cin, cout, stride, k = 3) =>
    node('Conv', [x, weight(`w${nodes.length}`, [cout, cin, k, k], Math.sqrt(2 / (cin * k * k))), weight(`b${nodes.length}`, [cout], 0.1)], {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0],
    });
  let x = node('Relu', [conv('x', 3, 16, 1)]);
  let channels = 16;
  for (const [width, firstStride] of [[16, 1], [32, 2], [64, 2]]) {
    for (let block = 0; block < 3; block++) {
      const stride = block === 0 ? firstStride : 1;
      const h = node('Relu', [conv(x, channels, width, stride)]);
      const shortcut = stride === 1 && channels === width ? x : conv(x, channels, width, stride, 1);
      x = node('Relu', [node('Add', [conv(h, width, width, 1), shortcut])]);
      channels = width;
    }
  }
  const pooled = node('Flatten', [node('GlobalAveragePool', [x])], { axis: 1 });
  const logits = node('Gemm', [pooled, weight('fc', [CLASSES, channels], 0.1), weight('fc_bias', [CLASSES], 0.1)], { transB: 1 });
  const floats = (name, dims) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'resnet20-nchw', node: nodes, initializer: initializers, input: [floats('x', [BATCH, 3, SIZE, SIZE])], output: [floats(logits, [BATCH, CLASSES])] },
  });
}

(async () => {
  const ort = require('onnxruntime-node');
  const bytes = resnet20Nchw();
  const shape = [BATCH, 3, SIZE, SIZE];
  const input = seededArray(shape.reduce((p, d) => p * d, 1), 99);
  const { graph, signature } = importOnnx(bytes, { file: 'resnet20-nchw.onnx' });
  const session = new Session(graph, { profile: PROFILE });
  const feeds = { [signature.inputs[0]]: tensor(input, shape) };
  const run = () => session.run(signature.outputs, feeds);
  const [ours] = await run();
  if (PROFILE) session.clearProfile();
  const ms = await medianMs(run, RUNS, 3);
  const times = [];
  for (const threads of [1, 0]) {
    const o = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const ortFeeds = { x: new ort.Tensor('float32', input, shape) };
    const reply = await o.run(ortFeeds);
    const diff = maxAbsDiff(reply[o.outputNames[0]].data, ours.data);
    if (!(diff < 1e-3)) throw new Error(`onnxruntime's output differs from graphc's by ${diff}`);
    times.push(await medianMs(() => o.run(ortFeeds), RUNS, 3));
    await o.release();
  }
  console.log(`ResNet-20 as PyTorch exports it (NCHW ONNX), batch ${BATCH}, ${SIZE}x${SIZE}; median of ${RUNS} runs`);
  console.log('| graphc cpu | onnxruntime, 1 thread | onnxruntime, default threads | graphc / onnxruntime (1 thread) |');
  console.log('|---:|---:|---:|---:|');
  console.log(`| ${ms.toFixed(2)} ms | ${times[0].toFixed(2)} ms | ${times[1].toFixed(2)} ms | ${(ms / times[0]).toFixed(2)}x |`);
  if (PROFILE) {
    console.log('\ngraphc kernel time per op (ms per run):');
    for (const e of timePerOp(session.profile(), RUNS + 3)) console.log(`  ${e.op.padEnd(24)} ${String(e.nodes).padStart(4)} nodes  ${e.msPerRun.toFixed(2)}`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
