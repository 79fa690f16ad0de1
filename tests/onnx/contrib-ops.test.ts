/**
 * onnxruntime's contrib ops (com.microsoft) that its transformer optimizer and its 4-bit LLM exports
 * write, at import, each against onnxruntime itself running the same model.
 */
import { TensorValue, importOnnx, onnx, tensor } from 'graphc';
import { ModelSpec } from './onnx-builder';
import { OrtSpec, agreeWithOrt, ortSpecBytes, seededBytes as bytes, seededValues as values } from './ort-agree';

const MS = 'com.microsoft';

/** Runs a model importing com.microsoft in graphc and in onnxruntime; the outputs must agree. */
const agree = (spec: OrtSpec, feeds: Record<string, TensorValue>) => agreeWithOrt({ ...spec, domains: [MS] }, feeds);
type Spec = OrtSpec;

const node = (op: string, inputs: string[], outputs: string[], attrs: NonNullable<ModelSpec['nodes'][number]['attrs']> = {}) => ({ op, inputs, outputs, attrs, domain: MS });

describe('com.microsoft contrib ops at import, against onnxruntime', () => {
  test('FusedMatMul: alpha and transposed operands, batched', async () => {
    const spec: Spec = {
      inputs: [{ name: 'a', shape: [2, 5, 3] }, { name: 'b', shape: [2, 4, 5] }],
      outputs: [{ name: 'y' }],
      nodes: [node('FusedMatMul', ['a', 'b'], ['y'], { alpha: { f: 0.5 }, transA: 1, transB: 1 })],
    };
    await agree(spec, { a: values([2, 5, 3], 1), b: values([2, 4, 5], 2) });
  });

  test('Gelu, BiasGelu, FastGelu (with and without a bias), QuickGelu', async () => {
    const x = values([3, 8], 3);
    const bias = values([8], 4);
    const spec: Spec = {
      inputs: [{ name: 'x', shape: [3, 8] }],
      outputs: ['g', 'bg', 'fg', 'fgb', 'qg'].map((name) => ({ name })),
      nodes: [
        node('Gelu', ['x'], ['g']),
        node('BiasGelu', ['x', 'bias'], ['bg']),
        node('FastGelu', ['x'], ['fg']),
        node('FastGelu', ['x', 'bias'], ['fgb']),
        node('QuickGelu', ['x'], ['qg'], { alpha: { f: 1.5 } }),
      ],
      initializers: { bias },
    };
    await agree(spec, { x });
  });

  // (onnxruntime's cpu kernels leave the mean and inv_std_var outputs, for training, unwritten: only
  // the output and the sum are compared)
  test('SkipLayerNormalization and SkipSimplifiedLayerNormalization (with the sum output), SimplifiedLayerNormalization', async () => {
    const input = values([2, 3, 16], 6);
    const skip = values([2, 3, 16], 7);
    const init = { gamma: values([16], 8), beta: values([16], 9), bias: values([16], 10) };
    await agree(
      {
        inputs: [{ name: 'input', shape: [2, 3, 16] }, { name: 'skip', shape: [2, 3, 16] }],
        outputs: ['y', 'sum'].map((name) => ({ name })),
        nodes: [node('SkipLayerNormalization', ['input', 'skip', 'gamma', 'beta', 'bias'], ['y', '', '', 'sum'], { epsilon: { f: 1e-5 } })],
        initializers: init,
      },
      { input, skip },
    );
    // the default epsilon (1e-12) shows on inputs this small
    const tiny = (t: TensorValue) => tensor(Array.from(t.data, (v) => v * 1e-3), t.shape);
    await agree(
      {
        inputs: [{ name: 'input', shape: [2, 3, 16] }, { name: 'skip', shape: [2, 3, 16] }],
        outputs: [{ name: 'y' }],
        nodes: [node('SkipLayerNormalization', ['input', 'skip', 'gamma'], ['y'])],
        initializers: init,
      },
      { input: tiny(input), skip: tiny(skip) },
    );
    await agree(
      {
        inputs: [{ name: 'input', shape: [2, 3, 16] }, { name: 'skip', shape: [2, 3, 16] }],
        outputs: ['y', 'sum'].map((name) => ({ name })),
        nodes: [node('SkipSimplifiedLayerNormalization', ['input', 'skip', 'gamma', 'bias'], ['y', '', '', 'sum'], { epsilon: { f: 1e-6 } })],
        initializers: init,
      },
      { input, skip },
    );
    await agree(
      {
        inputs: [{ name: 'input', shape: [2, 3, 16] }],
        outputs: [{ name: 'y' }],
        nodes: [{ op: 'SimplifiedLayerNormalization', inputs: ['input', 'gamma'], outputs: ['y'], attrs: { epsilon: { f: 1e-6 } } }],
        initializers: init,
      },
      { input },
    );
  });

  test('RotaryEmbedding: position ids per token or one offset, [B, S, hidden] (head count given or from the cache) and [B, H, S, D], halves and interleaved pairs, partial rotation', async () => {
    const [batch, heads, seq, head] = [2, 3, 5, 8];
    const rope = (shape: number[], positions: number[], attrs: Record<string, number>, half: number): Spec => ({
      inputs: [{ name: 'x', shape }, { name: 'positions', elemType: 7, shape: positions }],
      outputs: [{ name: 'y' }],
      nodes: [node('RotaryEmbedding', ['x', 'positions', 'cos', 'sin'], ['y'], attrs)],
      initializers: { cos: values([9, half], 20), sin: values([9, half], 21) },
    });
    const perToken = tensor([0, 3, 1, 6, 2, 5, 4, 4, 0, 1], [batch, seq], 'int64');
    const offset = tensor([3], [1], 'int64');
    const bsh = values([batch, seq, heads * head], 22);
    const bhsd = values([batch, heads, seq, head], 23);
    for (const interleaved of [0, 1]) {
      await agree(rope([batch, seq, heads * head], [batch, seq], { interleaved, num_heads: heads }, 4), { x: bsh, positions: perToken });
      await agree(rope([batch, seq, heads * head], [1], { interleaved }, 4), { x: bsh, positions: offset });
      await agree(rope([batch, heads, seq, head], [batch, seq], { interleaved, rotary_embedding_dim: 6, num_heads: heads }, 3), { x: bhsd, positions: perToken });
    }
  });

  test('EmbedLayerNormalization: word, position and segment embeddings, given positions, the mask index and the sum', async () => {
    const [b, s, hidden] = [2, 5, 8];
    const ids = tensor([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], [b, s], 'int32');
    const segments = tensor([0, 0, 0, 1, 1, 0, 1, 1, 1, 1], [b, s], 'int32');
    const mask = tensor([1, 1, 1, 1, 0, 1, 1, 0, 0, 0], [b, s], 'int32');
    const tables = { word: values([10, hidden], 60), position: values([7, hidden], 61), segment: values([2, hidden], 62), gamma: values([hidden], 63), beta: values([hidden], 64) };
    const ints = (name: string) => ({ name, elemType: 6, shape: [b, s] });
    await agree(
      {
        inputs: [ints('ids'), ints('segments'), ints('mask')],
        outputs: [{ name: 'y' }, { name: 'mask_index', elemType: 6 }, { name: 'sum' }],
        nodes: [node('EmbedLayerNormalization', ['ids', 'segments', 'word', 'position', 'segment', 'gamma', 'beta', 'mask'], ['y', 'mask_index', 'sum'], { epsilon: { f: 1e-5 } })],
        initializers: tables,
      },
      { ids, segments, mask },
    );
    await agree(
      {
        inputs: [ints('ids'), ints('positions')],
        outputs: [{ name: 'y' }, { name: 'mask_index', elemType: 6 }],
        nodes: [node('EmbedLayerNormalization', ['ids', '', 'word', 'position', '', 'gamma', 'beta', '', 'positions'], ['y', 'mask_index'])],
        initializers: tables,
      },
      { ids, positions: tensor([6, 5, 4, 3, 2, 0, 0, 1, 1, 2], [b, s], 'int32') },
    );
  });

  describe('MultiHeadAttention', () => {
    const [b, s, l, heads, d] = [2, 4, 6, 3, 12];
    const q = values([b, s, d], 30);
    const k = values([b, l, d], 31);
    const v = values([b, l, 9], 32);
    const mha = (inputs: ModelSpec['inputs'], names: string[], outputs: string[], attrs: Record<string, number | { f: number }>, init: Record<string, TensorValue> = {}): Spec => ({
      inputs,
      outputs: outputs.map((name) => ({ name })),
      nodes: [node('MultiHeadAttention', names, outputs, { num_heads: heads, ...attrs })],
      initializers: init,
    });
    const qkv: ModelSpec['inputs'] = [
      { name: 'q', shape: [b, s, d] },
      { name: 'k', shape: [b, l, d] },
      { name: 'v', shape: [b, l, 9] },
    ];

    test('[B, S, D] inputs: plain, with a bias and a scale, with an attention bias', async () => {
      await agree(mha(qkv, ['q', 'k', 'v'], ['y'], {}), { q, k, v });
      await agree(mha(qkv, ['q', 'k', 'v', 'bias'], ['y'], { scale: { f: 0.2 } }, { bias: values([d + d + 9], 33) }), { q, k, v });
      const withBias = [...qkv, { name: 'ab', shape: [1, heads, s, l] }];
      await agree(mha(withBias, ['q', 'k', 'v', '', '', 'ab'], ['y'], {}), { q, k, v, ab: values([1, heads, s, l], 34) });
    });

    test('key padding masks: per key [B, T] and key counts [B]; unidirectional; a cache with present outputs', async () => {
      const perKey = [...qkv, { name: 'mask', elemType: 6, shape: [b, l] }];
      await agree(mha(perKey, ['q', 'k', 'v', '', 'mask'], ['y'], {}), { q, k, v, mask: tensor([1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0], [b, l], 'int32') });
      const counts = [...qkv, { name: 'mask', elemType: 6, shape: [b] }];
      await agree(mha(counts, ['q', 'k', 'v', '', 'mask'], ['y'], { mask_filter_value: { f: -1e4 } }), { q, k, v, mask: tensor([4, 6], [b], 'int32') });
      const self = [{ name: 'q', shape: [b, s, d] }, { name: 'k', shape: [b, s, d] }, { name: 'v', shape: [b, s, d] }];
      const selfFeeds = { q, k: values([b, s, d], 35), v: values([b, s, d], 36) };
      await agree(mha(self, ['q', 'k', 'v'], ['y'], { unidirectional: 1 }), selfFeeds);
      const cached = [...self, { name: 'pk', shape: [b, heads, 5, d / heads] }, { name: 'pv', shape: [b, heads, 5, d / heads] }];
      const [, presentKey] = await agree(mha(cached, ['q', 'k', 'v', 'bias', '', '', 'pk', 'pv'], ['y', 'present_k', 'present_v'], { unidirectional: 1 }, { bias: values([3 * d], 37) }), {
        ...selfFeeds,
        pk: values([b, heads, 5, d / heads], 38),
        pv: values([b, heads, 5, d / heads], 39),
      });
      expect(presentKey.shape).toEqual([b, heads, 5 + s, d / heads]);
    });

    test('a decoder as exported: unidirectional after a cache whose length is known only at run time', async () => {
      const dynamic = [
        { name: 'q', shape: [b, null, d] },
        { name: 'k', shape: [b, null, d] },
        { name: 'v', shape: [b, null, d] },
        { name: 'pk', shape: [b, heads, null, d / heads] },
        { name: 'pv', shape: [b, heads, null, d / heads] },
      ];
      const spec = mha(dynamic, ['q', 'k', 'v', 'bias', '', '', 'pk', 'pv'], ['y', 'present_k', 'present_v'], { unidirectional: 1 }, { bias: values([3 * d], 42) });
      for (const [steps, cached] of [[1, 5], [3, 2]]) {
        const [, presentKey] = await agree(spec, {
          q: values([b, steps, d], 43),
          k: values([b, steps, d], 44),
          v: values([b, steps, d], 45),
          pk: values([b, heads, cached, d / heads], 46),
          pv: values([b, heads, cached, d / heads], 47),
        });
        expect(presentKey.shape).toEqual([b, heads, cached + steps, d / heads]);
      }
    });

    test('keys and values already split into heads [B, N, L, H] (cross attention)', async () => {
      const split = [{ name: 'q', shape: [b, s, d] }, { name: 'k', shape: [b, heads, l, d / heads] }, { name: 'v', shape: [b, heads, l, d / heads] }];
      await agree(mha(split, ['q', 'k', 'v'], ['y'], {}), { q, k: values([b, heads, l, d / heads], 40), v: values([b, heads, l, d / heads], 41) });
    });
  });

  describe('Attention (contrib)', () => {
    const [b, s, hidden, heads] = [2, 5, 12, 3];
    const x = values([b, s, hidden], 50);
    const weights = values([hidden, 3 * hidden], 51);
    const bias = values([3 * hidden], 52);
    const attention = (inputs: ModelSpec['inputs'], names: string[], outputs: string[], attrs: Record<string, number | number[]>, init: Record<string, TensorValue>): Spec => ({
      inputs,
      outputs: outputs.map((name) => ({ name })),
      nodes: [node('Attention', names, outputs, { num_heads: heads, ...attrs })],
      initializers: init,
    });
    const input = [{ name: 'x', shape: [b, s, hidden] }];

    test('BERT-style: one projection, masks per key, per query and key, and by count', async () => {
      await agree(attention(input, ['x', 'w', 'bias'], ['y'], {}, { w: weights, bias }), { x });
      const perKey = tensor([1, 1, 1, 0, 0, 1, 1, 1, 1, 1], [b, s], 'int32');
      await agree(attention([...input, { name: 'mask', elemType: 6, shape: [b, s] }], ['x', 'w', 'bias', 'mask'], ['y'], {}, { w: weights, bias }), { x, mask: perKey });
      const perQuery = tensor(Array.from({ length: b * s * s }, (_, i) => ((i * 7) % 4 ? 1 : 0)), [b, s, s], 'int32');
      await agree(attention([...input, { name: 'mask', elemType: 6, shape: [b, s, s] }], ['x', 'w', 'bias', 'mask'], ['y'], {}, { w: weights, bias }), { x, mask: perQuery });
      await agree(attention([...input, { name: 'mask', elemType: 6, shape: [b] }], ['x', 'w', 'bias', 'mask'], ['y'], {}, { w: weights, bias }), { x, mask: tensor([3, 5], [b], 'int32') });
      const endsAndStarts = attention([...input, { name: 'mask', elemType: 6, shape: [2 * b] }], ['x', 'w', 'bias', 'mask'], ['y'], {}, { w: weights, bias });
      expect(() => importOnnx(ortSpecBytes({ ...endsAndStarts, domains: [MS] }))).toThrow(/key ends and starts/);
    });

    test('GPT-2-style: unidirectional with a past, and the present; unequal value size', async () => {
      const past = values([2, b, heads, 4, hidden / heads], 53);
      const [, present] = await agree(
        attention([...input, { name: 'past', shape: [2, b, heads, 4, hidden / heads] }], ['x', 'w', 'bias', '', 'past'], ['y', 'present'], { unidirectional: 1 }, { w: weights, bias }),
        { x, past },
      );
      expect(present.shape).toEqual([2, b, heads, 4 + s, hidden / heads]);
      // a decoder as exported: the sequence and cache lengths symbolic, a key padding mask over both
      const symbolic = attention(
        [{ name: 'x', shape: [b, null, hidden] }, { name: 'past', shape: [2, b, heads, null, hidden / heads] }, { name: 'mask', elemType: 6, shape: [b, null] }],
        ['x', 'w', 'bias', 'mask', 'past'],
        ['y', 'present'],
        { unidirectional: 1 },
        { w: weights, bias },
      );
      for (const [steps, cached] of [[1, 4], [3, 2]]) {
        const mask = tensor(Array.from({ length: b * (steps + cached) }, (_, i) => (i === 1 ? 0 : 1)), [b, steps + cached], 'int32');
        await agree(symbolic, { x: values([b, steps, hidden], 56 + steps), past: values([2, b, heads, cached, hidden / heads], 57), mask });
      }
      const narrowV = values([hidden, hidden + hidden + 6], 54);
      await agree(attention(input, ['x', 'w', 'bias'], ['y'], { qkv_hidden_sizes: [hidden, hidden, 6] }, { w: narrowV, bias: values([2 * hidden + 6], 55) }), { x });
    });
  });

  test('a BERT layer as the onnxruntime optimizer fuses it: embeddings, attention by the mask index, skip layer norms, FastGelu', async () => {
    const [b, s, hidden, heads, ffn] = [2, 6, 16, 4, 32];
    const ints = (name: string) => ({ name, elemType: 6, shape: [b, s] });
    await agree(
      {
        inputs: [ints('ids'), ints('segments'), ints('mask')],
        outputs: [{ name: 'y' }],
        nodes: [
          node('EmbedLayerNormalization', ['ids', 'segments', 'word', 'position', 'segment', 'g0', 'b0', 'mask'], ['e', 'mask_index']),
          node('Attention', ['e', 'qkv', 'qkv_bias', 'mask_index'], ['a'], { num_heads: heads }),
          { op: 'MatMul', inputs: ['a', 'wo'], outputs: ['o'] },
          node('SkipLayerNormalization', ['o', 'e', 'g1', 'b1', 'bo'], ['n1']),
          { op: 'MatMul', inputs: ['n1', 'w1'], outputs: ['h'] },
          node('FastGelu', ['h', 'b2'], ['f']),
          { op: 'MatMul', inputs: ['f', 'w2'], outputs: ['f2'] },
          node('SkipLayerNormalization', ['f2', 'n1', 'g3', 'b3', 'b4'], ['y']),
        ],
        initializers: {
          word: values([20, hidden], 70),
          position: values([s, hidden], 71),
          segment: values([2, hidden], 72),
          g0: values([hidden], 73),
          b0: values([hidden], 74),
          qkv: tensor(Array.from(values([hidden, 3 * hidden], 75).data, (v) => v / 4), [hidden, 3 * hidden]),
          qkv_bias: values([3 * hidden], 76),
          wo: tensor(Array.from(values([hidden, hidden], 77).data, (v) => v / 4), [hidden, hidden]),
          g1: values([hidden], 78),
          b1: values([hidden], 79),
          bo: values([hidden], 80),
          w1: tensor(Array.from(values([hidden, ffn], 81).data, (v) => v / 4), [hidden, ffn]),
          b2: values([ffn], 82),
          w2: tensor(Array.from(values([ffn, hidden], 83).data, (v) => v / 6), [ffn, hidden]),
          g3: values([hidden], 84),
          b3: values([hidden], 85),
          b4: values([hidden], 86),
        },
      },
      {
        ids: tensor(Array.from({ length: b * s }, (_, i) => (i * 7) % 20), [b, s], 'int32'),
        segments: tensor(Array.from({ length: b * s }, (_, i) => (i % s >= 3 ? 1 : 0)), [b, s], 'int32'),
        mask: tensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [b, s], 'int32'),
      },
    );
  });

  // (onnxruntime's cpu kernel unpacks 2 and 4 bits only)
  test('MatMulNBits: 2 and 4 bits, default, packed and float zero points, a last block past K, a bias', async () => {
    const [K, N, blockSize] = [40, 6, 16];
    const blocks = Math.ceil(K / blockSize);
    const a = values([3, K], 11);
    const scales = tensor(Array.from(values([N * blocks], 12).data, (v) => Math.abs(v) / 8 + 0.01), [N * blocks]);
    const uint8 = (name: string, dims: number[], data: number[]): onnx.ITensorProto => ({ name, dims, dataType: 2, rawData: Uint8Array.from(data) });
    for (const bits of [2, 4]) {
      const blob = (blockSize * bits) / 8;
      const weights = uint8('w', [N, blocks, blob], bytes(N * blocks * blob, 13 + bits));
      const zpRow = Math.ceil((blocks * bits) / 8);
      const variants: { zeroPoint: string[]; raw: onnx.ITensorProto[]; init: Record<string, TensorValue> }[] = [
        { zeroPoint: [], raw: [], init: {} },
        { zeroPoint: ['zp'], raw: [uint8('zp', [N * zpRow], bytes(N * zpRow, 17))], init: {} },
        { zeroPoint: ['zpf'], raw: [], init: { zpf: tensor(Array.from({ length: N * blocks }, (_, i) => (i * 5) % (1 << bits)), [N * blocks]) } },
      ];
      for (const { zeroPoint, raw, init } of variants) {
        const withBias = zeroPoint.length === 0;
        await agree(
          {
            inputs: [{ name: 'a', shape: [3, K] }],
            outputs: [{ name: 'y' }],
            nodes: [
              node('MatMulNBits', ['a', 'w', 'scales', ...(zeroPoint.length ? zeroPoint : withBias ? [''] : []), ...(withBias ? ['', 'bias'] : [])], ['y'], { K, N, bits, block_size: blockSize }),
            ],
            initializers: { scales, ...init, ...(withBias ? { bias: values([N], 18) } : {}) },
            rawInitializers: [weights, ...raw],
          },
          { a },
        );
      }
    }
  });
});
