#!/usr/bin/env node
/**
 * Convnets written as torch.onnx.export writes them in eval mode (channels-first; Conv with the batch
 * norm folded into its bias), imported into graphc and run on its cpu backend, against
 * onnxruntime-node running the same bytes with one intra-op thread and with its default pool.
 * onnxruntime's output is checked against graphc's first. With --profile, graphc's kernel time per
 * op. Median of --runs after 3 warm-up runs. Batch 16, 32x32x3 images (the decoder: see below), seeded weights.
 *
 * --model resnet20: ResNet-20 for CIFAR (Conv, Relu, Add, GlobalAveragePool, Flatten, Gemm).
 * --model mobilenetv2: MobileNetV2's inverted residual blocks at CIFAR size (1x1 expansion,
 *   depthwise 3x3 as Conv with group = channels, Clip(0, 6), linear 1x1 projection, Add).
 * --model decoder: a DCGAN-style generator's upsampling, [16, 128, 8, 8] to [16, 3, 64, 64] through
 *   three ConvTranspose (kernel 4, stride 2, pads 1) with Relu, Tanh last.
 *
 *   npx tsc -b packages/cli && GRAPHC_CPU_THREADS=1 node bench/onnx-convnets.js [--model resnet20] [--runs 20] [--profile]
 */
'use strict';
const { loadGraphc, maxAbsDiff, medianMs, parseFlags, seededArray, timePerOp } = require('./common');
const graphc = loadGraphc();
const { Session, encodeModel, importOnnx, tensor, tensorToProto } = graphc;

const { runs: RUNS, profile: PROFILE, model: MODEL } = parseFlags({ runs: 20, profile: false, model: 'resnet20' });
const [BATCH, SIZE, CLASSES] = [16, 32, 10];

/** Builds a channels-first ONNX graph: seeded initializers, nodes named by op and position. */
function onnxBuilder() {
  let seed = 1;
  const nodes = [];
  const initializers = [];
  const weight = (name, shape, scale) => {
    initializers.push(tensorToProto(tensor(seededArray(shape.reduce((p, d) => p * d, 1), seed++, scale), shape), name));
    return name;
  };
  const constant = (name, value) => {
    initializers.push(tensorToProto(tensor([value], []), name));
    return name;
  };
  const node = (opType, input, attrs = {}) => {
    const out = `${opType.toLowerCase()}${nodes.length}`;
    const attribute = Object.entries(attrs).map(([name, v]) => (Array.isArray(v) ? { name, type: 7, ints: v } : { name, type: 2, i: v }));
    nodes.push({ opType, input, output: [out], attribute, name: out });
    return out;
  };
  /** Conv with a bias (a folded batch norm), `same` padding for odd kernels. */
  const conv = (x, cin, cout, { k = 3, stride = 1, group = 1 } = {}) =>
    node('Conv', [x, weight(`w${nodes.length}`, [cout, cin / group, k, k], Math.sqrt(2 / ((cin / group) * k * k))), weight(`b${nodes.length}`, [cout], 0.1)], {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: new Array(4).fill((k - 1) / 2),
      group,
    });
  /** GlobalAveragePool, Flatten and the classifier. */
  const head = (x, channels) =>
    node('Gemm', [node('Flatten', [node('GlobalAveragePool', [x])], { axis: 1 }), weight('fc', [CLASSES, channels], 0.1), weight('fc_bias', [CLASSES], 0.1)], { transB: 1 });
  const floats = (name, dims) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const encode = (name, output, inputDims = [BATCH, 3, SIZE, SIZE], outputDims = [BATCH, CLASSES]) =>
    encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: { name, node: nodes, initializer: initializers, input: [floats('x', inputDims)], output: [floats(output, outputDims)] },
    });
  /** ConvTranspose with a bias, kernel 4, stride 2, pads 1: doubles the image, as DCGAN and U-Net decoders write it. */
  const upsample = (x, cin, cout) =>
    node('ConvTranspose', [x, weight(`w${nodes.length}`, [cin, cout, 4, 4], Math.sqrt(2 / (cin * 4))), weight(`b${nodes.length}`, [cout], 0.1)], {
      kernel_shape: [4, 4],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
    });
  return { node, conv, constant, head, encode, upsample };
}

function resnet20() {
  const { node, conv, head, encode } = onnxBuilder();
  let x = node('Relu', [conv('x', 3, 16)]);
  let channels = 16;
  for (const [width, firstStride] of [[16, 1], [32, 2], [64, 2]]) {
    for (let block = 0; block < 3; block++) {
      const stride = block === 0 ? firstStride : 1;
      const h = node('Relu', [conv(x, channels, width, { stride })]);
      const shortcut = stride === 1 && channels === width ? x : conv(x, channels, width, { k: 1, stride });
      x = node('Relu', [node('Add', [conv(h, width, width), shortcut])]);
      channels = width;
    }
  }
  return encode('resnet20-nchw', head(x, channels));
}

function mobilenetv2() {
  const { node, conv, constant, head, encode } = onnxBuilder();
  const [zero, six] = [constant('zero', 0), constant('six', 6)];
  const relu6 = (x) => node('Clip', [x, zero, six]);
  let x = relu6(conv('x', 3, 32));
  let channels = 32;
  // (expansion, output channels, blocks, first stride), MobileNetV2's table cut at 96 channels
  for (const [t, c, n, s] of [[1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 3, 2], [6, 64, 2, 2], [6, 96, 1, 1]]) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const hidden = channels * t;
      const expanded = t === 1 ? x : relu6(conv(x, channels, hidden, { k: 1 }));
      const filtered = relu6(conv(expanded, hidden, hidden, { stride, group: hidden }));
      const projected = conv(filtered, hidden, c, { k: 1 });
      x = stride === 1 && channels === c ? node('Add', [projected, x]) : projected;
      channels = c;
    }
  }
  return encode('mobilenetv2-nchw', head(relu6(conv(x, channels, 320, { k: 1 })), 320));
}

/** A DCGAN-style generator's upsampling: 128 channels at 8x8 to an RGB image at 64x64, ConvTranspose and Relu (Tanh last). */
function decoder() {
  const { node, upsample, encode } = onnxBuilder();
  let x = 'x';
  const widths = [128, 64, 32, 3];
  for (let i = 1; i < widths.length; i++) x = node(i === widths.length - 1 ? 'Tanh' : 'Relu', [upsample(x, widths[i - 1], widths[i])]);
  return encode('decoder-nchw', x, INPUTS.decoder, [BATCH, 3, 64, 64]);
}

const MODELS = { resnet20, mobilenetv2, decoder };
/** Each model's input. */
const INPUTS = { resnet20: [BATCH, 3, SIZE, SIZE], mobilenetv2: [BATCH, 3, SIZE, SIZE], decoder: [BATCH, 128, 8, 8] };

(async () => {
  const ort = require('onnxruntime-node');
  if (!MODELS[MODEL]) {
    console.error(`bench: --model must be one of ${Object.keys(MODELS).join(', ')}`);
    process.exit(2);
  }
  const bytes = MODELS[MODEL]();
  const shape = INPUTS[MODEL];
  const input = seededArray(shape.reduce((p, d) => p * d, 1), 99);
  const { graph, signature } = importOnnx(bytes, { file: `${MODEL}.onnx` });
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
  console.log(`${MODEL} as PyTorch exports it (NCHW ONNX), input [${shape}]; median of ${RUNS} runs`);
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
