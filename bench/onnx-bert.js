#!/usr/bin/env node
/**
 * An ONNX BERT layer as onnxruntime's transformer optimizer writes it (com.microsoft
 * EmbedLayerNormalization, Attention by the mask index, SkipLayerNormalization and FastGelu, with
 * MatMul between), imported into graphc and run on its cpu backend, against onnxruntime-node running
 * the same bytes with one intra-op thread and with its default pool. Batch 8, 128 tokens (the last
 * 28 of each row masked), hidden 256, 4 heads, FFN 1024; seeded weights. onnxruntime's output is
 * checked against graphc's first. Median of --runs after 3 warm-up runs.
 *
 *   npx tsc -b packages/cli && GRAPHC_CPU_THREADS=1 node bench/onnx-bert.js [--runs 20]
 */
'use strict';
const { loadGraphc, maxAbsDiff, medianMs, parseFlags, seededArray } = require('./common');
const graphc = loadGraphc();
const { Session, encodeModel, importOnnx, tensor, tensorToProto } = graphc;

const { runs: RUNS } = parseFlags({ runs: 20 });
const [B, S, HIDDEN, HEADS, FFN, VOCAB] = [8, 128, 256, 4, 1024, 1000];
const MS = 'com.microsoft';

/** The layer's ModelProto bytes: ids and mask [B, S] int32 in, y [B, S, HIDDEN] out. */
function bertLayer() {
  let seed = 1;
  const weight = (shape, scale = 1) => tensor(seededArray(shape.reduce((p, d) => p * d, 1), seed++, scale), shape);
  const initializers = {
    word: weight([VOCAB, HIDDEN]),
    position: weight([S, HIDDEN]),
    g0: weight([HIDDEN]),
    b0: weight([HIDDEN]),
    qkv: weight([HIDDEN, 3 * HIDDEN], 0.1),
    qkv_bias: weight([3 * HIDDEN]),
    wo: weight([HIDDEN, HIDDEN], 0.1),
    g1: weight([HIDDEN]),
    b1: weight([HIDDEN]),
    bo: weight([HIDDEN]),
    w1: weight([HIDDEN, FFN], 0.1),
    b2: weight([FFN]),
    w2: weight([FFN, HIDDEN], 0.05),
    g3: weight([HIDDEN]),
    b3: weight([HIDDEN]),
    b4: weight([HIDDEN]),
  };
  const node = (opType, input, output, attribute = [], domain = MS) => ({ opType, input, output, attribute, domain, name: output[0] });
  const heads = [{ name: 'num_heads', type: 2, i: HEADS }];
  const ints = (name) => ({ name, type: { tensorType: { elemType: 6, shape: { dim: [{ dimValue: B }, { dimValue: S }] } } } });
  return encodeModel({
    irVersion: 9,
    opsetImport: [{ domain: '', version: 17 }, { domain: MS, version: 1 }],
    graph: {
      name: 'bert-layer',
      node: [
        node('EmbedLayerNormalization', ['ids', '', 'word', 'position', '', 'g0', 'b0', 'mask'], ['e', 'mask_index']),
        node('Attention', ['e', 'qkv', 'qkv_bias', 'mask_index'], ['a'], heads),
        node('MatMul', ['a', 'wo'], ['o'], [], ''),
        node('SkipLayerNormalization', ['o', 'e', 'g1', 'b1', 'bo'], ['n1']),
        node('MatMul', ['n1', 'w1'], ['h'], [], ''),
        node('FastGelu', ['h', 'b2'], ['f']),
        node('MatMul', ['f', 'w2'], ['f2'], [], ''),
        node('SkipLayerNormalization', ['f2', 'n1', 'g3', 'b3', 'b4'], ['y']),
      ],
      initializer: Object.entries(initializers).map(([name, t]) => tensorToProto(t, name)),
      input: [ints('ids'), ints('mask')],
      output: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
    },
  });
}

(async () => {
  const ort = require('onnxruntime-node');
  const bytes = bertLayer();
  const ids = Int32Array.from({ length: B * S }, (_, i) => (i * 7) % VOCAB);
  const mask = Int32Array.from({ length: B * S }, (_, i) => (i % S < 100 ? 1 : 0));
  const { graph, signature } = importOnnx(bytes, { file: 'bert-layer.onnx' });
  const session = new Session(graph);
  const feeds = { [signature.inputs[0]]: tensor(ids, [B, S], 'int32'), [signature.inputs[1]]: tensor(mask, [B, S], 'int32') };
  const run = () => session.run(signature.outputs, feeds);
  const [ours] = await run();
  const ms = await medianMs(run, RUNS, 3);
  const times = [];
  for (const threads of [1, 0]) {
    const o = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const ortFeeds = { ids: new ort.Tensor('int32', ids, [B, S]), mask: new ort.Tensor('int32', mask, [B, S]) };
    const reply = await o.run(ortFeeds);
    const diff = maxAbsDiff(reply.y.data, ours.data);
    if (!(diff < 1e-3)) throw new Error(`onnxruntime's output differs from graphc's by ${diff}`);
    times.push(await medianMs(() => o.run(ortFeeds), RUNS, 3));
    await o.release();
  }
  console.log(`BERT layer (ONNX, onnxruntime's fused ops), batch ${B}, ${S} tokens, hidden ${HIDDEN}; median of ${RUNS} runs`);
  console.log('| graphc cpu | onnxruntime, 1 thread | onnxruntime, default threads | graphc / onnxruntime (1 thread) |');
  console.log('|---:|---:|---:|---:|');
  console.log(`| ${ms.toFixed(2)} ms | ${times[0].toFixed(2)} ms | ${times[1].toFixed(2)} ms | ${(ms / times[0]).toFixed(2)}x |`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
