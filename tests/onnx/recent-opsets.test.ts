/**
 * Opsets 18 to 25 at import: what changed after opset 18 for the ops graphc reads (Pad's wrap,
 * AveragePool's dilations, DFT's axis input, GridSample's mode names, QuantizeLinear's block_size and
 * output_dtype, GroupNormalization's per-channel parameters) and the ops those opsets added (Gelu,
 * Mish, GroupNormalization, RMSNormalization, RotaryEmbedding, Attention, Swish). Debian's ONNX test
 * data stops at opset 17, so onnxruntime runs each model as the reference, for the cpu backend and
 * (where there is an adapter) the webgpu one.
 */
import { Session, TensorValue, UnsupportedOpError, importOnnx, onnx, tensor } from 'graphc';
import { compare } from '../../scripts/conformance-harness';
import { gpu } from '../webgpu/helpers';
import { ModelSpec } from './onnx-builder';
import { OrtSpec as Spec, agreeWithOrt, ortSpecBytes as bytesOf, seededValues as values } from './ort-agree';

/** Each model runs on the cpu, and on webgpu where this machine has an adapter (CI has one). */
const agree = (spec: Spec, feeds: Record<string, TensorValue>) => agreeWithOrt(spec, feeds, gpu.available ? ['cpu', 'webgpu'] : ['cpu']);

const single = (op: string, opset: number, inputs: ModelSpec['inputs'], attrs: NonNullable<ModelSpec['nodes'][number]['attrs']> = {}, initializers: ModelSpec['initializers'] = {}): ModelSpec => ({
  inputs,
  outputs: [{ name: 'y' }],
  nodes: [{ op, inputs: [...inputs.map((i) => i.name), ...Object.keys(initializers)], outputs: ['y'], attrs }],
  initializers,
  opset,
});

describe('ONNX opsets 18 to 25 at import, against onnxruntime', () => {
  test('Pad (19): wrap, by pads known at import and computed at run time', async () => {
    // (onnxruntime 1.30 fills zeros where a pad is wider than its dimension; graphc wraps on, as
    // numpy does: tests/graph/ops-array.test.ts)
    const x = values([3, 4], 1);
    const pads = tensor([1, 3, 2, 0], [4], 'int64');
    const known = await agree(single('Pad', 19, [{ name: 'x', shape: [3, 4] }], { mode: 'wrap' }, { pads }), { x });
    expect(known[0].shape).toEqual([6, 7]);
    const fed = single('Pad', 19, [{ name: 'x', shape: [3, 4] }, { name: 'pads', elemType: 7, shape: [4] }], { mode: 'wrap' });
    await agree(fed, { x, pads });
    // before opset 19 the mode is a model error
    expect(() => importOnnx(bytesOf(single('Pad', 18, [{ name: 'x', shape: [3, 4] }], { mode: 'wrap' }, { pads })))).toThrow(/pad mode 'wrap' is not constant, reflect, edge/);
  });

  test('AveragePool (19): dilations, with and without the padding counted', async () => {
    const x = values([1, 2, 9, 8], 2);
    for (const countIncludePad of [0, 1]) {
      await agree(single('AveragePool', 19, [{ name: 'x', shape: [1, 2, 9, 8] }], { kernel_shape: [3, 2], dilations: [2, 3], pads: [1, 1, 2, 1], strides: [1, 2], count_include_pad: countIncludePad }), { x });
    }
  });

  test('Gelu (20): exact and tanh forms', async () => {
    const x = values([4, 5], 3);
    for (const approximate of ['none', 'tanh']) await agree(single('Gelu', 20, [{ name: 'x', shape: [4, 5] }], { approximate }), { x });
  });

  test('Mish (18)', async () => {
    await agree(single('Mish', 18, [{ name: 'x', shape: [3, 7] }]), { x: values([3, 7], 4) });
  });

  test('GroupNormalization: scale and bias per group (18), per channel (21), the batch known only at run time', async () => {
    const x = values([2, 6, 3, 4], 5);
    const input = [{ name: 'x', shape: ['N', 6, 3, 4] }];
    await agree(single('GroupNormalization', 18, input, { num_groups: 3, epsilon: 1e-3 }, { scale: values([3], 6), bias: values([3], 7) }), { x });
    await agree(single('GroupNormalization', 21, input, { num_groups: 2 }, { scale: values([6], 8), bias: values([6], 9) }), { x });
    expect(() => importOnnx(bytesOf(single('GroupNormalization', 21, input, { num_groups: 4 }, { scale: values([6], 8), bias: values([6], 9) })))).toThrow(/num_groups 4 does not divide 6 channels/);
  });

  test('DFT (20): the axis as an input, and its default (the last signal axis)', async () => {
    const x = values([2, 8, 6, 2], 10);
    const input = [{ name: 'x', shape: [2, 8, 6, 2] }];
    const spec = (axis?: number): ModelSpec => ({
      inputs: input,
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'DFT', inputs: axis === undefined ? ['x'] : ['x', '', 'axis'], outputs: ['y'], attrs: { onesided: 0 } }],
      initializers: axis === undefined ? {} : { axis: tensor([axis], [], 'int64') },
      opset: 20,
    });
    const [along1] = await agree(spec(1), { x });
    const [byDefault] = await agree(spec(undefined), { x });
    const [along2] = await agree(spec(2), { x });
    expect(byDefault.data).toEqual(along2.data);
    expect(along1.data).not.toEqual(along2.data);
  });

  test('GridSample (20): linear and cubic by their new names', async () => {
    const x = values([1, 2, 5, 6], 11);
    const grid = tensor(Array.from(values([1, 4, 3, 2], 12).data, (v) => v * 0.6), [1, 4, 3, 2]);
    for (const mode of ['linear', 'cubic', 'nearest']) {
      await agree(single('GridSample', 20, [{ name: 'x', shape: [1, 2, 5, 6] }, { name: 'grid', shape: [1, 4, 3, 2] }], { mode, align_corners: 1 }), { x, grid });
    }
  });

  test('QuantizeLinear and DequantizeLinear (21): block_size, and output_dtype without a zero point', async () => {
    const x = tensor(Array.from(values([4, 6], 13).data, (v) => v * 40), [4, 6]);
    const scale = tensor([0.5, 0.25, 1, 0.75, 0.3, 2, 0.4, 0.9], [4, 2]);
    // graphc has no int8 tensors to write: the zero point goes in as an INT8 TensorProto
    const zeroPoint = { name: 'zero_point', dims: [4, 2], dataType: 3, int32Data: [1, -3, 0, 7, 2, 2, -5, 0] };
    const blocked = (op: string, extra: Record<string, number>, raw: onnx.ITensorProto[]): Spec => ({
      inputs: op === 'QuantizeLinear' ? [{ name: 'x', shape: [4, 6] }] : [],
      outputs: [{ name: 'y', elemType: op === 'QuantizeLinear' ? 3 : 1 }],
      nodes: [{ op, inputs: [op === 'QuantizeLinear' ? 'x' : 'q', 'scale', ...(raw.includes(zeroPoint) ? ['zero_point'] : [])], outputs: ['y'], attrs: { axis: 1, block_size: 4, ...extra } }],
      initializers: { scale },
      opset: 21,
      rawInitializers: raw,
    });
    const [q] = await agree(blocked('QuantizeLinear', {}, [zeroPoint]), { x });
    expect(q.shape).toEqual([4, 6]);
    // (an int8 input cannot be fed from graphc's int32 values: the quantized tensor is an initializer)
    const quantized = { name: 'q', dims: [4, 6], dataType: 3, int32Data: Array.from(q.data as ArrayLike<number>) };
    await agree(blocked('DequantizeLinear', {}, [zeroPoint, quantized]), {});
    // int8 named by output_dtype: values below zero survive, where the default uint8 would clip them
    const [typed] = await agree(blocked('QuantizeLinear', { output_dtype: 3 }, []), { x });
    expect(Math.min(...Array.from(typed.data as ArrayLike<number>))).toBeLessThan(0);
  });

  test('RMSNormalization (23): over the last axis and over the axes from 1, a broadcast scale', async () => {
    const x = values([2, 3, 8], 16);
    await agree(single('RMSNormalization', 23, [{ name: 'x', shape: [2, 3, 8] }], {}, { scale: values([8], 17) }), { x });
    await agree(single('RMSNormalization', 23, [{ name: 'x', shape: [2, 3, 8] }], { axis: 1, epsilon: 1e-2 }, { scale: values([3, 8], 18) }), { x });
  });

  test('RotaryEmbedding (23): [B, H, S, D] and [B, S, hidden] inputs, halves and interleaved pairs, partial rotation, position ids', async () => {
    const [batch, heads, seq, head] = [2, 3, 5, 8];
    const positions = tensor([0, 3, 1, 6, 2, 5, 4, 4, 0, 1], [batch, seq], 'int64');
    const caches = { cos: values([7, 3], 19), sin: values([7, 3], 20) };
    const full = { cos: values([7, 4], 21), sin: values([7, 4], 22) };
    const rope = (shape: number[], attrs: Record<string, number>, init: Record<string, TensorValue>, withPositions = true): Spec => ({
      inputs: [{ name: 'x', shape }, ...(withPositions ? [{ name: 'positions', elemType: 7, shape: [batch, seq] }] : [])],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'RotaryEmbedding', inputs: ['x', 'cos', 'sin', ...(withPositions ? ['positions'] : [])], outputs: ['y'], attrs }],
      initializers: init,
      opset: 23,
    });
    const bhsd = values([batch, heads, seq, head], 23);
    for (const interleaved of [0, 1]) {
      await agree(rope([batch, heads, seq, head], { interleaved }, full), { x: bhsd, positions });
      await agree(rope([batch, heads, seq, head], { interleaved, rotary_embedding_dim: 6 }, caches), { x: bhsd, positions });
      await agree(rope([batch, seq, heads * head], { interleaved, num_heads: heads }, full), { x: values([batch, seq, heads * head], 24), positions });
    }
    // caches already per token: [B, S, R / 2], no position ids
    await agree(rope([batch, heads, seq, head], {}, { cos: values([batch, seq, 4], 25), sin: values([batch, seq, 4], 26) }, false), { x: bhsd });
  });

  test('Swish (24)', async () => {
    const x = values([3, 5], 27);
    await agree(single('Swish', 24, [{ name: 'x', shape: [3, 5] }]), { x });
    await agree(single('Swish', 24, [{ name: 'x', shape: [3, 5] }], { alpha: 1.702 }), { x });
  });

  describe('Attention (23)', () => {
    const attention = (inputs: ModelSpec['inputs'], optional: string[], outputs: string[], attrs: Record<string, number | { f: number }>): Spec => ({
      inputs,
      outputs: outputs.map((name) => ({ name })),
      nodes: [{ op: 'Attention', inputs: ['q', 'k', 'v', ...optional], outputs, attrs }],
      opset: 23,
    });
    const [b, h, s, d] = [2, 4, 5, 8];
    const q4 = values([b, h, s, d], 30);
    const k4 = values([b, h, 7, d], 31);
    const v4 = values([b, h, 7, 6], 32);
    const inputs4: ModelSpec['inputs'] = [
      { name: 'q', shape: [b, h, s, d] },
      { name: 'k', shape: [b, h, 7, d] },
      { name: 'v', shape: [b, h, 7, 6] },
    ];

    test('[B, H, S, D] heads: plain, with a scale, with softcap', async () => {
      await agree(attention(inputs4, [], ['y'], {}), { q: q4, k: k4, v: v4 });
      await agree(attention(inputs4, [], ['y'], { scale: 0.05, softcap: { f: 2 } }), { q: q4, k: k4, v: v4 });
    });

    test('masks: float and boolean, broadcast; causal, alone and with a mask', async () => {
      const feeds = { q: q4, k: k4, v: v4 };
      const floatMask = [...inputs4, { name: 'mask', shape: [s, 7] }];
      await agree(attention(floatMask, ['mask'], ['y'], {}), { ...feeds, mask: values([s, 7], 33) });
      const bits = Array.from({ length: b * s * 7 }, (_, i) => (i * 7) % 3 !== 0);
      const boolMask = [...inputs4, { name: 'mask', elemType: 9, shape: [b, 1, s, 7] }];
      await agree(attention(boolMask, ['mask'], ['y'], {}), { ...feeds, mask: tensor(bits, [b, 1, s, 7], 'bool') });
      await agree(attention(inputs4, [], ['y'], { is_causal: 1 }), feeds);
      await agree(attention(floatMask, ['mask'], ['y'], { is_causal: 1 }), { ...feeds, mask: values([s, 7], 34) });
    });

    test('a mask shorter than the keys leaves the rest out, as one padded with false or -inf (onnxruntime refuses it)', async () => {
      const run = async (spec: Spec, feeds: Record<string, TensorValue>) => {
        const { graph, signature } = importOnnx(bytesOf(spec), { file: 'attention.onnx' });
        return (await new Session(graph).run(signature.outputs, feeds))[0];
      };
      const feeds = { q: q4, k: k4, v: v4 };
      const short = values([s, 5], 40);
      const padded = tensor(Array.from({ length: s * 7 }, (_, i) => (i % 7 < 5 ? short.data[Math.floor(i / 7) * 5 + (i % 7)] : -Infinity)), [s, 7]);
      const withMask = (shape: number[], elemType = 1) => attention([...inputs4, { name: 'mask', elemType, shape }], ['mask'], ['y'], {});
      expect(compare(await run(withMask([s, 7]), { ...feeds, mask: padded }), await run(withMask([s, 5]), { ...feeds, mask: short }))).toBeUndefined();
      const bits = Array.from({ length: s * 5 }, (_, i) => i % 4 !== 1);
      const paddedBits = tensor(Array.from({ length: s * 7 }, (_, i) => i % 7 < 5 && bits[Math.floor(i / 7) * 5 + (i % 7)]), [s, 7], 'bool');
      const [viaShort, viaPadded] = [await run(withMask([s, 5], 9), { ...feeds, mask: tensor(bits, [s, 5], 'bool') }), await run(withMask([s, 7], 9), { ...feeds, mask: paddedBits })];
      expect(compare(viaPadded, viaShort)).toBeUndefined();
      expect(compare(viaPadded, await run(attention(inputs4, [], ['y'], {}), feeds))).toBeDefined(); // the mask does something
    });

    test('[B, S, hidden] inputs with grouped-query heads; a cache: present key and value, every qk output mode', async () => {
      const q3 = values([b, s, 4 * d], 35);
      const k3 = values([b, 3, 2 * d], 36);
      const v3 = values([b, 3, 2 * 6], 37);
      const inputs3: ModelSpec['inputs'] = [
        { name: 'q', shape: [b, s, 4 * d] },
        { name: 'k', shape: [b, 3, 2 * d] },
        { name: 'v', shape: [b, 3, 2 * 6] },
      ];
      await agree(attention(inputs3, [], ['y'], { q_num_heads: 4, kv_num_heads: 2 }), { q: q3, k: k3, v: v3 });
      const cached = [...inputs3, { name: 'past_k', shape: [b, 2, 4, d] }, { name: 'past_v', shape: [b, 2, 4, 6] }];
      const feeds = { q: q3, k: k3, v: v3, past_k: values([b, 2, 4, d], 38), past_v: values([b, 2, 4, 6], 39) };
      for (const mode of [0, 2, 3]) {
        const [, presentKey] = await agree(attention(cached, ['', 'past_k', 'past_v'], ['y', 'present_k', 'present_v', 'qk'], { q_num_heads: 4, kv_num_heads: 2, is_causal: 1, qk_matmul_output_mode: mode }), feeds);
        expect(presentKey.shape).toEqual([b, 2, 7, d]);
      }
      // the cache's length symbolic, as an exported decoder declares it: the causal offset is read at run time
      const symbolic = [...inputs3, { name: 'past_k', shape: [b, 2, null, d] }, { name: 'past_v', shape: [b, 2, null, 6] }];
      const [, presentKey] = await agree(attention(symbolic, ['', 'past_k', 'past_v'], ['y', 'present_k', 'present_v'], { q_num_heads: 4, kv_num_heads: 2, is_causal: 1 }), feeds);
      expect(presentKey.shape).toEqual([b, 2, 7, d]);
    });
  });

  test('opsets 22 and 25 (types only) read as before; later opsets, and the narrow types, are refused by name', async () => {
    const x = values([1, 3, 6, 6], 14);
    const w = values([4, 3, 3, 3], 15);
    await agree(single('Conv', 22, [{ name: 'x', shape: [1, 3, 6, 6] }], { pads: [1, 1, 1, 1] }, { w }), { x });
    await agree(single('Conv', 25, [{ name: 'x', shape: [1, 3, 6, 6] }], { strides: [2, 2] }, { w }), { x });
    expect(() => importOnnx(bytesOf(single('Relu', 26, [{ name: 'x', shape: [2] }])))).toThrow(UnsupportedOpError);
    expect(() => importOnnx(bytesOf(single('Relu', 26, [{ name: 'x', shape: [2] }])))).toThrow(/opset 26; graphc reads opsets 1 to 25/);
    // the narrow types those opsets added are refused by name
    for (const [elemType, name] of [[17, 'FLOAT8E4M3FN'], [22, 'INT4'], [23, 'FLOAT4E2M1'], [26, 'INT2']] as const) {
      expect(() => importOnnx(bytesOf(single('Identity', 25, [{ name: 'x', elemType, shape: [2] }])))).toThrow(new RegExp(`input 'x': ONNX element type ${name} is not supported`));
    }
  });
});
