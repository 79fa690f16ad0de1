/**
 * onnxruntime's GroupQueryAttention (com.microsoft), the attention of its LLM exports, at import:
 * each case against onnxruntime running the same model, and a decode loop feeding the present
 * cache back as the past, as a generator does.
 */
import { Session, TensorValue, importOnnx, tensor } from 'graphc';
import { compare, runInOrt } from '../../scripts/conformance-harness';
import { ModelSpec } from './onnx-builder';
import { gpu } from '../webgpu/helpers';
import { OrtSpec, agreeWithOrt, ortSpecBytes, seededValues as values } from './ort-agree';

const MS = 'com.microsoft';
const [heads, kvHeads, head] = [4, 2, 16];
type Attrs = NonNullable<ModelSpec['nodes'][number]['attrs']>;

/**
 * A GroupQueryAttention model over batch `b`; the sequence and cache lengths are symbolic, as an
 * exporter writes them. `slots` names the inputs in order ('' for one left out).
 */
function gqa(b: number, slots: string[], outputs: string[], attrs: Attrs = {}, extra: ModelSpec['inputs'] = []): OrtSpec {
  const declared: Record<string, ModelSpec['inputs'][number]> = {
    q: { name: 'q', shape: [b, null, heads * head] },
    qkv: { name: 'qkv', shape: [b, null, (heads + 2 * kvHeads) * head] },
    k: { name: 'k', shape: [b, null, kvHeads * head] },
    v: { name: 'v', shape: [b, null, kvHeads * head] },
    past_k: { name: 'past_k', shape: [b, kvHeads, null, head] },
    past_v: { name: 'past_v', shape: [b, kvHeads, null, head] },
    seqlens: { name: 'seqlens', elemType: 6, shape: [b] },
    total: { name: 'total', elemType: 6, shape: [] },
  };
  return {
    inputs: [...slots.filter((s) => declared[s]).map((s) => declared[s]), ...extra],
    outputs: outputs.map((name) => ({ name })),
    nodes: [{ op: 'GroupQueryAttention', inputs: slots, outputs, attrs: { num_heads: heads, kv_num_heads: kvHeads, ...attrs }, domain: MS }],
    domains: [MS],
  };
}

const lengths = (seqlens: number[], total: number) => ({ seqlens: tensor(seqlens, [seqlens.length], 'int32'), total: tensor([total], [], 'int32') });
const tokens = (b: number, s: number, seed: number) => ({ q: values([b, s, heads * head], seed), k: values([b, s, kvHeads * head], seed + 1), v: values([b, s, kvHeads * head], seed + 2) });
const caches = (b: number, length: number, seed: number) => ({ past_k: values([b, kvHeads, length, head], seed), past_v: values([b, kvHeads, length, head], seed + 1) });
const agree = (spec: OrtSpec, feeds: Record<string, TensorValue>) => agreeWithOrt(spec, feeds);
/** Also on webgpu where this machine has an adapter (CI has one): a few cases, as each compiles its kernels on lavapipe. */
const agreeOnBoth = (spec: OrtSpec, feeds: Record<string, TensorValue>) => agreeWithOrt(spec, feeds, gpu.available ? ['cpu', 'webgpu'] : ['cpu']);

const PROMPT = ['q', 'k', 'v', '', '', 'seqlens', 'total'];
const CACHED = ['q', 'k', 'v', 'past_k', 'past_v', 'seqlens', 'total'];
const PRESENT = ['y', 'present_k', 'present_v'];
const ROTARY = [...CACHED, 'cos', 'sin'];
const cosSin = { cos: values([12, 8], 40), sin: values([12, 8], 41) };
const rotaryInputs: ModelSpec['inputs'] = [{ name: 'cos', shape: [12, 8] }, { name: 'sin', shape: [12, 8] }];

describe('GroupQueryAttention at import, against onnxruntime', () => {
  test('a first prompt: causal over its tokens; packed QKV; a right-padded row', async () => {
    const [y, presentKey] = await agree(gqa(2, PROMPT, PRESENT), { ...tokens(2, 5, 1), ...lengths([4, 4], 5) });
    expect(presentKey.shape).toEqual([2, kvHeads, 5, head]);
    expect(y.shape).toEqual([2, 5, heads * head]);
    await agree(gqa(2, ['qkv', '', '', '', '', 'seqlens', 'total'], PRESENT), { qkv: values([2, 5, (heads + 2 * kvHeads) * head], 4), ...lengths([4, 4], 5) });
    // the second row holds 2 tokens: its padded queries see its first 2 keys only
    await agree(gqa(2, PROMPT, PRESENT), { ...tokens(2, 5, 5), ...lengths([4, 1], 5) });
  });

  test('a decode step after a cache: rows of the same and of different lengths, a cache buffer longer than the total', async () => {
    const [, presentKey] = await agree(gqa(2, CACHED, PRESENT), { ...tokens(2, 1, 10), ...caches(2, 6, 13), ...lengths([6, 6], 7) });
    expect(presentKey.shape).toEqual([2, kvHeads, 7, head]);
    // the second row has cached 3 tokens: its new one lands at position 3, zeros after it
    await agreeOnBoth(gqa(2, CACHED, PRESENT), { ...tokens(2, 1, 10), ...caches(2, 6, 13), ...lengths([6, 3], 7) });
    // a buffer of 9 holding fewer tokens (onnxruntime-genai's shared buffer): the present is 9 long
    const [, longer] = await agree(gqa(2, CACHED, PRESENT), { ...tokens(2, 1, 10), ...caches(2, 9, 13), ...lengths([6, 3], 7) });
    expect(longer.shape).toEqual([2, kvHeads, 9, head]);
  });

  test('a later prompt of several tokens after a cache (batch 1)', async () => {
    await agree(gqa(1, CACHED, PRESENT), { ...tokens(1, 3, 20), ...caches(1, 5, 23), ...lengths([7], 8) });
  });

  test('softcap, smooth softmax, a sink per head, a local window, an attention bias, a scale', async () => {
    const feeds = { ...tokens(2, 5, 30), ...lengths([4, 4], 5) };
    await agree(gqa(2, PROMPT, ['y'], { softcap: { f: 2 }, smooth_softmax: 1 }), feeds);
    await agree(gqa(2, [...PROMPT, '', '', '', '', 'sink'], ['y'], {}, [{ name: 'sink', shape: [heads] }]), { ...feeds, sink: values([heads], 33) });
    await agree(gqa(2, PROMPT, ['y'], { local_window_size: 2, scale: { f: 0.3 } }), feeds);
    await agree(gqa(2, [...PROMPT, '', '', '', 'bias'], ['y'], { softcap: { f: 2 } }, [{ name: 'bias', shape: [2, 1, 5, 5] }]), { ...feeds, bias: values([2, 1, 5, 5], 34) });
    // a decode step: output_qk asked for, see below
    await agree(gqa(2, CACHED, [...PRESENT, 'qk'], { local_window_size: 3, softcap: { f: 1.5 }, qk_output: 1 }), { ...tokens(2, 1, 35), ...caches(2, 6, 38), ...lengths([6, 4], 7) });
  });

  // onnxruntime's cpu kernel takes another path on a decode step when output_qk is not asked for;
  // with a softcap, a local window or do_rotary that path's outputs differ from its reference path's
  // and from the spec's arithmetic (checked by hand here), so those cases ask for output_qk
  test('a softcapped decode step, by hand', async () => {
    const feeds = { ...tokens(1, 1, 100), ...caches(1, 3, 103), ...lengths([3], 4) };
    const { graph, signature } = importOnnx(ortSpecBytes(gqa(1, CACHED, ['y'], { softcap: { f: 1.5 } })), { file: 'gqa.onnx' });
    const [y] = await new Session(graph).run(signature.outputs, feeds);
    const data = (t: TensorValue) => t.data as Float32Array;
    const row = (t: TensorValue, kvHead: number, j: number) => data(t).subarray((kvHead * 3 + j) * head, (kvHead * 3 + j + 1) * head);
    for (let h = 0; h < heads; h++) {
      const kv = Math.floor(h / (heads / kvHeads));
      const keys = [0, 1, 2].map((j) => row(feeds.past_k, kv, j)).concat([data(feeds.k).subarray(kv * head, (kv + 1) * head)]);
      const vals = [0, 1, 2].map((j) => row(feeds.past_v, kv, j)).concat([data(feeds.v).subarray(kv * head, (kv + 1) * head)]);
      const query = data(feeds.q).subarray(h * head, (h + 1) * head);
      const scores = keys.map((key) => Math.tanh(key.reduce((a, x, i) => a + x * query[i], 0) / Math.sqrt(head) / 1.5) * 1.5);
      const exps = scores.map((x) => Math.exp(x - Math.max(...scores)));
      const sum = exps.reduce((a, x) => a + x, 0);
      for (let i = 0; i < head; i++) {
        const expected = vals.reduce((a, v, j) => a + (exps[j] / sum) * v[i], 0);
        expect(Math.abs(data(y)[h * head + i] - expected)).toBeLessThan(1e-5);
      }
    }
  });

  test('output_qk: the scores before the softmax and the weights, masked to 0, total_sequence_length wide', async () => {
    const feeds = { ...tokens(2, 1, 50), ...caches(2, 6, 53), ...lengths([6, 3], 7) };
    for (const mode of [1, 2]) {
      const [, , , qk] = await agree(gqa(2, CACHED, [...PRESENT, 'qk'], { qk_output: mode }), feeds);
      expect(qk.shape).toEqual([2, heads, 1, 7]);
    }
  });

  test('do_rotary: halves and interleaved pairs, on a prompt (a padded row too) and on decode steps of different cached lengths', async () => {
    const rotary = (b: number, attrs: Attrs) => gqa(b, ROTARY, [...PRESENT, 'qk'], { do_rotary: 1, qk_output: 1, ...attrs }, rotaryInputs);
    for (const rotary_interleaved of [0, 1]) {
      await agree(rotary(2, { rotary_interleaved }), { ...tokens(2, 5, 60), ...caches(2, 0, 63), ...cosSin, ...lengths([4, 2], 5) });
      await agreeOnBoth(rotary(2, { rotary_interleaved }), { ...tokens(2, 1, 65), ...caches(2, 6, 68), ...cosSin, ...lengths([6, 4], 7) });
    }
  });

  test('position_ids: the default numbering agrees with onnxruntime; other ids rotate as RotaryEmbedding does with them', async () => {
    const ids = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], 'int64');
    const withIds = gqa(2, [...ROTARY, 'ids'], ['y'], { do_rotary: 1 }, [...rotaryInputs, { name: 'ids', elemType: 7, shape: [2, null] }]);
    const feeds = { ...tokens(2, 4, 70), ...caches(2, 0, 73), ...cosSin, ...lengths([3, 3], 4) };
    await agree(withIds, { ...feeds, ids: ids([[0, 1, 2, 3], [0, 1, 2, 3]]) });
    // onnxruntime's cpu kernel does not read position_ids, so other ids are checked against the
    // query and key rotated by com.microsoft RotaryEmbedding first (itself checked against onnxruntime)
    const shifted = ids([[2, 3, 4, 5], [7, 8, 9, 10]]);
    const run = async (spec: OrtSpec, fed: Record<string, TensorValue>) => {
      const { graph, signature } = importOnnx(ortSpecBytes(spec), { file: 'gqa.onnx' });
      return (await new Session(graph).run(signature.outputs, fed))[0];
    };
    const ours = await run(withIds, { ...feeds, ids: shifted });
    const rope = (x: string, n: number) => ({ op: 'RotaryEmbedding', inputs: [x, 'ids', 'cos', 'sin'], outputs: [`${x}_r`], attrs: { num_heads: n }, domain: MS });
    const rotatedFirst = gqa(2, ['q_r', 'k_r', 'v', 'past_k', 'past_v', 'seqlens', 'total'], ['y'], {}, [
      { name: 'q', shape: [2, null, heads * head] },
      { name: 'k', shape: [2, null, kvHeads * head] },
      ...rotaryInputs,
      { name: 'ids', elemType: 7, shape: [2, null] },
    ]);
    rotatedFirst.nodes.unshift(rope('q', heads), rope('k', kvHeads));
    const expected = await run(rotatedFirst, { ...feeds, ids: shifted });
    expect(compare(ours, expected)).toBeUndefined();
    const unshifted = await run(withIds, { ...feeds, ids: ids([[0, 1, 2, 3], [0, 1, 2, 3]]) });
    expect(compare(ours, unshifted)).toBeDefined();
  });

  test('a generator loop: a prompt, then decode steps fed their own present caches, each step against onnxruntime (the passes run for the first three shapes only)', async () => {
    const spec = gqa(2, CACHED, PRESENT, { do_rotary: 1, qk_output: 2 }, rotaryInputs);
    spec.nodes[0].inputs.push('cos', 'sin');
    spec.nodes[0].outputs.push('qk');
    spec.outputs.push({ name: 'qk' });
    const bytes = ortSpecBytes(spec);
    const { graph, signature } = importOnnx(bytes, { file: 'gqa.onnx' });
    const session = new Session(graph);
    let cache = caches(2, 0, 80);
    let total = 4;
    let step = tokens(2, 4, 82);
    for (let i = 0; i < 5; i++) {
      const feeds = { ...step, ...cache, ...cosSin, ...lengths([total - 1, total - 1], total) };
      const ours = await session.run(signature.outputs, feeds);
      const theirs = await runInOrt(bytes, feeds, spec.outputs.map((o) => o.name));
      ours.forEach((t, k) => expect(compare(t, theirs[k])).toBeUndefined());
      expect(ours[1].shape).toEqual([2, kvHeads, total, head]);
      cache = { past_k: ours[1], past_v: ours[2] };
      total += 1;
      step = tokens(2, 1, 90 + 3 * i);
    }
    // from the second decode step on, the passes see the cache length unknown (VaryingDims): one
    // optimized graph serves every later step, each a shape seen once, on its one unspecialized plan
    expect([session.compileCount, session.optimizeCount]).toEqual([3, 3]);
  });

  test('bad attributes and inputs are named', () => {
    const bytes = (spec: OrtSpec) => ortSpecBytes(spec);
    expect(() => importOnnx(bytes(gqa(1, PROMPT, ['y'], { num_heads: 3 })), { file: 'gqa.onnx' })).toThrow(/num_heads 3 must be a positive multiple of kv_num_heads 2/);
    expect(() => importOnnx(bytes(gqa(1, ['q', 'k', '', '', '', 'seqlens', 'total'], ['y'])), { file: 'gqa.onnx' })).toThrow(/key and value must both be given/);
    expect(() => importOnnx(bytes(gqa(1, ['q', 'k', 'v', 'past_k', '', 'seqlens', 'total'], ['y'])), { file: 'gqa.onnx' })).toThrow(/past_key and past_value/);
    expect(() => importOnnx(bytes(gqa(1, ['q', 'k', 'v'], ['y'])), { file: 'gqa.onnx' })).toThrow(/seqlens_k and total_sequence_length are required/);
  });
});
