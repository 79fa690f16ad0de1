/**
 * onnxruntime's contrib ops (com.microsoft) that its transformer optimizer and its 4-bit LLM exports
 * write, at import, each against onnxruntime itself running the same model.
 */
import { TensorValue, onnx, tensor } from 'graphc';
import { ModelSpec } from './onnx-builder';
import { OrtSpec, agreeWithOrt, seededBytes as bytes, seededValues as values } from './ort-agree';

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
