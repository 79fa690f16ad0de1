#!/usr/bin/env node
/**
 * A small Llama-style decoder as onnxruntime-genai exports one for the CPU: token embedding,
 * SimplifiedLayerNormalization, com.microsoft GroupQueryAttention with do_rotary and a key/value
 * cache per layer, a SiLU-gated MLP, the lengths computed in the model from attention_mask (ReduceSum,
 * Shape). 2 layers, hidden 512, 8 query heads over 2 key/value heads of 64, MLP 1408, vocabulary
 * 2000; seeded float32 weights (MatMul, where genai writes MatMulNBits). One row: a prompt of
 * --prompt tokens, then --steps greedy decode steps, each fed the present caches of the step before,
 * in graphc's cpu backend (one session) and in onnxruntime-node (one intra-op thread) on the same
 * bytes. graphc's logits are checked against onnxruntime's at every step: on decode steps against a
 * second onnxruntime session whose GroupQueryAttention nodes also return output_qk, since
 * onnxruntime's faster decode path (the one timed) gives other values when do_rotary is set (see
 * tests/onnx/group-query-attention.test.ts). Reports the prompt's time and the mean decode step, and
 * that mean split into the first step (for graphc a new signature, whose plan it compiles then) and the rest;
 * the whole sequence runs --rounds times (fresh graphc session each round), best round kept, and
 * the first round's prompt apart: the process's first run, its compile and weight packing cold.
 * --cache growing (onnxruntime-genai's default on the CPU): each step's cache is one token longer,
 * so each step is a new signature (from the second decode step on, run on the one unspecialized
 * plan of a graph whose passes saw the cache's length unknown). --cache static: the same
 * model fed buffers of 256 slots, fed back whole, and a 256-long mask whose ones are the tokens so
 * far, so every decode step has the same shapes and runs one plan.
 *
 * --weights int4: every MatMul by a weight becomes com.microsoft MatMulNBits (4-bit weights in
 * blocks of 32, asymmetric, zero points packed), as genai's int4 exports write them; graphc keeps
 * them packed (matmulNBits), onnxruntime runs its own kernel (accuracy_level 0: float32 compute).
 *
 *   npx tsc -b packages/cli && GRAPHC_CPU_THREADS=1 node bench/onnx-llm.js [--cache growing|static] [--weights float32|int4] [--prompt 32] [--steps 32] [--rounds 3]
 */
'use strict';
const { loadGraphc, maxAbsDiff, parseFlags, seededArray } = require('./common');
const graphc = loadGraphc();
const { Session, encodeModel, importOnnx, tensor, tensorToProto } = graphc;

const { prompt: PROMPT, steps: STEPS, rounds: ROUNDS, cache: CACHE, weights: WEIGHTS } = parseFlags({ prompt: 32, steps: 32, rounds: 3, cache: 'growing', weights: 'float32' });
if (CACHE !== 'growing' && CACHE !== 'static') throw new Error(`--cache is growing or static, not ${CACHE}`);
if (WEIGHTS !== 'float32' && WEIGHTS !== 'int4') throw new Error(`--weights is float32 or int4, not ${WEIGHTS}`);
/** Block of the int4 weights along k, as genai's int4 exports use. */
const BLOCK = 32;
/** A static cache: buffers of MAX_LEN slots fed back whole, the attention mask as long, its ones the tokens so far (the model is the same). */
const STATIC = CACHE === 'static';
const [LAYERS, HIDDEN, HEADS, KV_HEADS, HEAD, MLP, VOCAB, MAX_LEN] = [2, 512, 8, 2, 64, 1408, 2000, 256];
const MS = 'com.microsoft';

/**
 * The decoder's ModelProto bytes; `withQk` also returns each attention's output_qk (onnxruntime's
 * reference path). As genai writes it, seqlens_k is the mask's sum less one and the total the mask's
 * length (with a static cache, MAX_LEN: the present caches are as long as the past ones).
 */
function decoder(withQk) {
  let seed = 1;
  const weight = (shape, scale) => tensor(seededArray(shape.reduce((p, d) => p * d, 1), seed++, scale), shape);
  const angles = (fn) => {
    const half = HEAD / 2;
    const data = new Float32Array(MAX_LEN * half);
    for (let p = 0; p < MAX_LEN; p++) for (let i = 0; i < half; i++) data[p * half + i] = fn(p / Math.pow(10000, (2 * i) / HEAD));
    return tensor(data, [MAX_LEN, half]);
  };
  const init = { embed: weight([VOCAB, HIDDEN], 1), cos: angles(Math.cos), sin: angles(Math.sin), norm: weight([HIDDEN], 1), lm_head: weight([HIDDEN, VOCAB], 0.05) };
  const node = (opType, input, output, attribute = [], domain = '') => ({ opType, input, output, attribute, domain, name: output[0] });
  const int = (name, i) => ({ name, type: 2, i });
  const float = (name, f) => ({ name, type: 1, f });
  const nodes = [
    node('Gather', ['embed', 'input_ids'], ['embedded']),
    // genai's lengths: seqlens_k = sum(mask) - 1, total = the mask's length
    node('ReduceSum', ['attention_mask', 'one_axis'], ['mask_sum'], [int('keepdims', 0)]),
    node('Sub', ['mask_sum', 'one'], ['seqlens64']),
    node('Cast', ['seqlens64'], ['seqlens_k'], [int('to', 6)]),
    node('Shape', ['attention_mask'], ['mask_shape']),
    node('Gather', ['mask_shape', 'one'], ['total64'], [int('axis', 0)]),
    node('Cast', ['total64'], ['total'], [int('to', 6)]),
  ];
  init.one_axis = tensor([1], [1], 'int64');
  init.one = tensor([1], [], 'int64');
  const outputs = [];
  let x = 'embedded';
  for (let l = 0; l < LAYERS; l++) {
    Object.assign(init, {
      [`ln${l}`]: weight([HIDDEN], 1),
      [`wq${l}`]: weight([HIDDEN, HEADS * HEAD], 0.05),
      [`wk${l}`]: weight([HIDDEN, KV_HEADS * HEAD], 0.05),
      [`wv${l}`]: weight([HIDDEN, KV_HEADS * HEAD], 0.05),
      [`wo${l}`]: weight([HEADS * HEAD, HIDDEN], 0.05),
      [`ln2${l}`]: weight([HIDDEN], 1),
      [`wg${l}`]: weight([HIDDEN, MLP], 0.05),
      [`wu${l}`]: weight([HIDDEN, MLP], 0.05),
      [`wd${l}`]: weight([MLP, HIDDEN], 0.03),
    });
    const p = (s) => `${s}${l}`;
    const attention = [p('attn'), p('present_k'), p('present_v'), ...(withQk ? [p('qk')] : [])];
    nodes.push(
      node('SimplifiedLayerNormalization', [x, p('ln')], [p('n')], [float('epsilon', 1e-5)]),
      node('MatMul', [p('n'), p('wq')], [p('q')]),
      node('MatMul', [p('n'), p('wk')], [p('k')]),
      node('MatMul', [p('n'), p('wv')], [p('v')]),
      node('GroupQueryAttention', [p('q'), p('k'), p('v'), p('past_k'), p('past_v'), 'seqlens_k', 'total', 'cos', 'sin'], attention,
        [int('num_heads', HEADS), int('kv_num_heads', KV_HEADS), int('do_rotary', 1), ...(withQk ? [int('qk_output', 1)] : [])], MS),
      node('MatMul', [p('attn'), p('wo')], [p('o')]),
      node('Add', [x, p('o')], [p('r')]),
      node('SimplifiedLayerNormalization', [p('r'), p('ln2')], [p('n2')], [float('epsilon', 1e-5)]),
      node('MatMul', [p('n2'), p('wg')], [p('g')]),
      node('Sigmoid', [p('g')], [p('sg')]),
      node('Mul', [p('g'), p('sg')], [p('silu')]),
      node('MatMul', [p('n2'), p('wu')], [p('u')]),
      node('Mul', [p('silu'), p('u')], [p('h')]),
      node('MatMul', [p('h'), p('wd')], [p('d')]),
      node('Add', [p('r'), p('d')], [p('x')]),
    );
    outputs.push(p('present_k'), p('present_v'));
    if (withQk) outputs.push(p('qk'));
    x = p('x');
  }
  nodes.push(node('SimplifiedLayerNormalization', [x, 'norm'], ['xn'], [float('epsilon', 1e-5)]), node('MatMul', ['xn', 'lm_head'], ['logits']));
  const raw = WEIGHTS === 'int4' ? quantizeMatMuls(nodes, init) : [];
  const dims = (...ds) => ({ dim: ds.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) });
  const value = (name, elemType, shape) => ({ name, type: { tensorType: { elemType, shape } } });
  const cache = (name) => value(name, 1, dims(1, KV_HEADS, 'past', HEAD));
  return encodeModel({
    irVersion: 9,
    opsetImport: [{ domain: '', version: 17 }, { domain: MS, version: 1 }],
    graph: {
      name: 'llm-decoder',
      node: nodes,
      initializer: [...Object.entries(init).map(([name, t]) => tensorToProto(t, name)), ...raw],
      input: [value('input_ids', 7, dims(1, 'sequence')), value('attention_mask', 7, dims(1, 'total')), ...Array.from({ length: LAYERS }, (_, l) => [cache(`past_k${l}`), cache(`past_v${l}`)]).flat()],
      output: [{ name: 'logits', type: { tensorType: { elemType: 1 } } }, ...outputs.map((name) => ({ name, type: { tensorType: { elemType: 1 } } }))],
    },
  });
}

/**
 * --weights int4: every MatMul by a weight becomes com.microsoft MatMulNBits, as onnxruntime-genai's
 * int4 exports write them: 4-bit weights in blocks of BLOCK along k, each block of each column with
 * its scale and zero point from its min and max (asymmetric), the zero points packed two a byte.
 * Replaces the float weights in `init`; returns the new initializers (uint8, as raw protos).
 */
function quantizeMatMuls(nodes, init) {
  const raw = [];
  const uint8 = (name, dims, data) => ({ name, dims, dataType: 2, rawData: data });
  for (const n of nodes) {
    if (n.opType !== 'MatMul' || !(n.input[1] in init)) continue;
    const w = init[n.input[1]];
    const [K, N] = w.shape;
    const blocks = Math.ceil(K / BLOCK);
    const q = new Uint8Array(N * blocks * (BLOCK / 2));
    const scales = new Float32Array(N * blocks);
    const zp = new Uint8Array(N * Math.ceil(blocks / 2));
    for (let col = 0; col < N; col++) {
      for (let b = 0; b < blocks; b++) {
        let [lo, hi] = [0, 0];
        for (let k = b * BLOCK; k < Math.min(K, (b + 1) * BLOCK); k++) [lo, hi] = [Math.min(lo, w.data[k * N + col]), Math.max(hi, w.data[k * N + col])];
        const scale = (hi - lo) / 15 || 1;
        const z = Math.min(15, Math.max(0, Math.round(-lo / scale)));
        scales[col * blocks + b] = scale;
        zp[col * Math.ceil(blocks / 2) + (b >> 1)] |= z << (4 * (b & 1));
        for (let j = 0; j < BLOCK && b * BLOCK + j < K; j++) {
          const v = Math.min(15, Math.max(0, Math.round(w.data[(b * BLOCK + j) * N + col] / scale + z)));
          q[(col * blocks + b) * (BLOCK / 2) + (j >> 1)] |= v << (4 * (j & 1));
        }
      }
    }
    const name = n.input[1];
    delete init[name];
    raw.push(uint8(`${name}_q4`, [N, blocks, BLOCK / 2], q), tensorToProto(tensor(scales, [N * blocks]), `${name}_scales`), uint8(`${name}_zp`, [N * Math.ceil(blocks / 2)], zp));
    Object.assign(n, {
      opType: 'MatMulNBits',
      domain: MS,
      input: [n.input[0], `${name}_q4`, `${name}_scales`, `${name}_zp`],
      attribute: [{ name: 'K', type: 2, i: K }, { name: 'N', type: 2, i: N }, { name: 'bits', type: 2, i: 4 }, { name: 'block_size', type: 2, i: BLOCK }],
    });
  }
  return raw;
}

/** The greedy next token: argmax of the last position's logits. */
function nextToken(logits, positions) {
  const last = logits.subarray((positions - 1) * VOCAB, positions * VOCAB);
  let best = 0;
  for (let i = 1; i < VOCAB; i++) if (last[i] > last[best]) best = i;
  return best;
}

(async () => {
  const ort = require('onnxruntime-node');
  const bytes = decoder(false);
  const checked = await ort.InferenceSession.create(decoder(true), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const timed = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const { graph, signature } = importOnnx(bytes, { file: 'llm-decoder.onnx' });
  const promptIds = Array.from({ length: PROMPT }, (_, i) => (i * 37 + 11) % VOCAB);
  const empty = () => new Float32Array(0);

  /** One generation: the prompt, then STEPS decode steps; `run` takes and returns plain feeds and outputs. */
  async function generate(run, check) {
    let ids = promptIds;
    let total = PROMPT;
    let caches = Array.from({ length: 2 * LAYERS }, () => (STATIC ? { data: new Float32Array(KV_HEADS * MAX_LEN * HEAD), length: MAX_LEN } : { data: empty(), length: 0 }));
    const times = [];
    const tokens = [];
    for (let step = 0; step <= STEPS; step++) {
      const feeds = {
        input_ids: { data: BigInt64Array.from(ids.map(BigInt)), shape: [1, ids.length] },
        attention_mask: STATIC ? { data: BigInt64Array.from({ length: MAX_LEN }, (_, i) => (i < total ? 1n : 0n)), shape: [1, MAX_LEN] } : { data: new BigInt64Array(total).fill(1n), shape: [1, total] },
      };
      caches.forEach((c, i) => (feeds[`past_${i % 2 ? 'v' : 'k'}${i >> 1}`] = { data: c.data, shape: [1, KV_HEADS, c.length, HEAD] }));
      const start = process.hrtime.bigint();
      const out = await run(feeds);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (check) await check(feeds, out, step);
      const token = nextToken(out.logits, ids.length);
      tokens.push(token);
      caches = caches.map((_, i) => ({ data: out[`present_${i % 2 ? 'v' : 'k'}${i >> 1}`], length: STATIC ? MAX_LEN : total }));
      ids = [token];
      total += 1;
    }
    const mean = (ts) => ts.reduce((a, t) => a + t, 0) / ts.length;
    // the first decode step is a new signature: graphc compiles its plan there (onnxruntime optimized its graph when the session was created)
    return { prompt: times[0], decode: mean(times.slice(1)), firstStep: times[1], laterSteps: mean(times.slice(2)), tokens };
  }

  const outputNames = ['logits', ...Array.from({ length: LAYERS }, (_, l) => [`present_k${l}`, `present_v${l}`]).flat()];
  const ortRun = (session) => async (feeds) => {
    const ortFeeds = {};
    for (const [name, f] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(f.data instanceof BigInt64Array ? 'int64' : 'float32', f.data, f.shape);
    const reply = await session.run(ortFeeds);
    return Object.fromEntries(outputNames.map((name) => [name, reply[name].data]));
  };
  const graphcRun = (session) => async (feeds) => {
    const fed = {};
    for (const [name, f] of Object.entries(feeds)) fed[name] = f.data instanceof BigInt64Array ? tensor(Array.from(f.data, Number), f.shape, 'int64') : tensor(f.data, f.shape);
    const results = await session.run(outputNames.map((n) => signature.outputs[signature.outputs.indexOf(n)]), fed);
    return Object.fromEntries(outputNames.map((name, i) => [name, results[i].data]));
  };
  const reference = ortRun(checked);
  const check = async (feeds, out, step) => {
    const theirs = await reference(feeds);
    const diff = maxAbsDiff(theirs.logits, out.logits);
    if (!(diff < 2e-3)) throw new Error(`step ${step}: graphc's logits differ from onnxruntime's by ${diff}`);
  };

  const best = (results) => ({ ...Object.fromEntries(['prompt', 'decode', 'firstStep', 'laterSteps'].map((k) => [k, Math.min(...results.map((r) => r[k]))])), tokens: results[0].tokens });
  const ours = [];
  const theirs = [];
  for (let round = 0; round < ROUNDS; round++) {
    ours.push(await generate(graphcRun(new Session(graph)), round === 0 ? check : undefined));
    theirs.push(await generate(ortRun(timed)));
  }
  const [g, o] = [best(ours), best(theirs)];
  console.log(`LLM decoder (ONNX, onnxruntime-genai's form: GroupQueryAttention with do_rotary${WEIGHTS === 'int4' ? `, MatMulNBits: 4-bit weights in blocks of ${BLOCK}` : ''}), ${LAYERS} layers, hidden ${HIDDEN}, ${HEADS}/${KV_HEADS} heads, ${STATIC ? `a static cache of ${MAX_LEN}` : 'a growing cache'}; prompt ${PROMPT} tokens, then ${STEPS} decode steps; best of ${ROUNDS} rounds`);
  const weightBytes = graph.nodes.filter((n) => n.op === 'const').reduce((sum, n) => sum + n.attrs.value.data.byteLength, 0);
  console.log(`graphc holds the model's constants in ${(weightBytes / 1e6).toFixed(1)} MB; the ONNX file is ${(bytes.length / 1e6).toFixed(1)} MB`);
  console.log(`graphc's logits agree with onnxruntime's (reference path) at every step; greedy tokens ${g.tokens.join(' ') === o.tokens.join(' ') ? 'identical' : 'differ'}`);
  console.log('| | graphc cpu | onnxruntime, 1 thread | graphc / onnxruntime |');
  console.log('|---|---:|---:|---:|');
  console.log(`| prompt (${PROMPT} tokens) | ${g.prompt.toFixed(2)} ms | ${o.prompt.toFixed(2)} ms | ${(g.prompt / o.prompt).toFixed(2)}x |`);
  // graphc's first round is the process's first compile and first products (its weights packed then); onnxruntime's session was created before the timing
  console.log(`| prompt, first round (the process's first run) | ${ours[0].prompt.toFixed(2)} ms | ${theirs[0].prompt.toFixed(2)} ms | |`);
  console.log(`| decode step (mean of ${STEPS}) | ${g.decode.toFixed(2)} ms | ${o.decode.toFixed(2)} ms | ${(g.decode / o.decode).toFixed(2)}x |`);
  console.log(`| first decode step (a new signature: graphc compiles a plan) | ${g.firstStep.toFixed(2)} ms | ${o.firstStep.toFixed(2)} ms | |`);
  console.log(`| decode steps 2-${STEPS} (mean of ${STEPS - 1}) | ${g.laterSteps.toFixed(2)} ms | ${o.laterSteps.toFixed(2)} ms | ${(g.laterSteps / o.laterSteps).toFixed(2)}x |`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
