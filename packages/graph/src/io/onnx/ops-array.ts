import { DType, isInteger } from '../../dtype';
import { SymbolicTensor } from '../../graph';
import { normalizeAxis } from '../../shape';
import { tensor } from '../../tensor';
import type { OnnxNode } from './context';
import { onnxPaddings, onnxSliceAttrs, unsqueezeShape } from './dynamic-rules';
import { Param, castTo, constParam, int64Param, intsFromAttrOrInput, param, reshapeTo, scalarOf, withParams } from './helpers';
import { defineOnnxOp } from './import';
import { dtypeOfOnnx } from './tensor';

/** Shape, indexing and layout ONNX ops. */

defineOnnxOp('Reshape', (n) => {
  const p = n.opset >= 5 ? param(n, 1) : int64Param(n, n.attr.ints('shape'));
  return [withParams(n, 'onnx.Reshape', [n.input(0)], [p], { allowzero: n.attr.int('allowzero', 0) === 1 }).output(0)];
});

defineOnnxOp('Flatten', (n) => {
  const x = n.input(0);
  const axis = n.attr.int('axis', 1);
  const a = axis < 0 ? axis + x.rank : axis;
  if (a < 0 || a > x.rank) n.fail(`axis ${axis} is out of range for rank ${x.rank}`);
  const prod = (dims: (number | null)[]) => dims.reduce<number | null>((p, d) => (p === null || d === null ? null : p * d), 1);
  const outer = prod(x.shape.slice(0, a));
  const inner = prod(x.shape.slice(a));
  if (outer !== null || inner !== null) return [reshapeTo(n, x, [outer, inner])];
  // both halves unknown until run time: the target shape is computed from x's shape then
  const half = (start: number, end: number) => n.op('reduceProd', [n.op('shapeOf', [x], { start, end })], { axes: [0], keepDims: true });
  const target = n.op('concat', [half(0, a), half(a, x.rank)], { axis: 0 });
  return [withParams(n, 'onnx.Reshape', [x], [{ tensor: target }], { allowzero: true }).output(0)];
});

defineOnnxOp('Transpose', (n) => {
  const x = n.input(0);
  const perm = n.attr.ints('perm', Array.from({ length: x.rank }, (_, i) => x.rank - 1 - i));
  return [n.op('transpose', [x], { perm: perm.map((p) => (p < 0 ? p + x.rank : p)) })];
});

defineOnnxOp('Squeeze', (n) => {
  const x = n.input(0);
  const axes = intsFromAttrOrInput(n, 'axes', 1, 13);
  if (!axes) {
    if (x.shape.some((d) => d === null)) n.unsupported('Squeeze without axes needs every dimension known');
    return [n.op('squeeze', [x], { axes: x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) })];
  }
  return [withParams(n, 'onnx.Squeeze', [x], [axes]).output(0)];
});

defineOnnxOp('Unsqueeze', (n) => {
  const x = n.input(0);
  const axes = intsFromAttrOrInput(n, 'axes', 1, 13) ?? n.fail('needs axes');
  if (axes.value) {
    const list = Array.from(axes.value.data as ArrayLike<number>);
    const rank = x.rank + list.length;
    unsqueezeShape(x.shape, list); // validates
    let y = x;
    for (const a of list.map((v) => (v < 0 ? v + rank : v)).sort((p, q) => p - q)) y = n.op('expandDims', [y], { axis: a });
    return [y];
  }
  return [withParams(n, 'onnx.Unsqueeze', [x], [axes]).output(0)];
});

defineOnnxOp('Concat', (n) => {
  const inputs = Array.from({ length: n.inputCount }, (_, i) => i).filter((i) => n.has(i)).map((i) => n.input(i));
  const axis = n.attr.int('axis', n.opset < 4 ? 1 : undefined);
  if (inputs.length === 1) return [inputs[0]];
  return [n.op('concat', inputs, { axis })];
});

defineOnnxOp('Split', (n) => {
  const x = n.input(0);
  const axis = normalizeAxis(n.attr.int('axis', 0), x.rank, `Split: `);
  const split = n.opset >= 13 ? (n.has(1) ? param(n, 1) : undefined) : n.attr.has('split') ? int64Param(n, n.attr.ints('split')) : n.opset < 2 && n.has(1) ? param(n, 1) : undefined;
  const count = n.outputCount;
  if (!split) {
    const dim = x.shape[axis];
    if (n.attr.has('num_outputs') && dim !== null && dim % count !== 0) {
      // opset 18: the last chunk is smaller
      const size = Math.ceil(dim / count);
      const sizes = Array.from({ length: count }, (_, i) => Math.min(size, dim - i * size));
      return n.node('split', [x], { sizes, axis }).outputTensors;
    }
    return count === 1 ? [x] : n.node('split', [x], { num: count, axis }).outputTensors;
  }
  if (split.value && split.value.data.length !== count) n.fail(`split has ${split.value.data.length} sizes for ${count} outputs`);
  return withParams(n, 'onnx.Split', [x], [split], { axis, numOutputs: count }).outputTensors;
});

defineOnnxOp('Slice', (n) => {
  const x = n.input(0);
  let starts: Param;
  let ends: Param;
  let axes: Param | undefined;
  let steps: Param | undefined;
  if (n.opset < 10) {
    starts = int64Param(n, n.attr.ints('starts'));
    ends = int64Param(n, n.attr.ints('ends'));
    axes = n.attr.has('axes') ? int64Param(n, n.attr.ints('axes')) : undefined;
  } else {
    starts = param(n, 1);
    ends = param(n, 2);
    axes = n.has(3) ? param(n, 3) : undefined;
    steps = n.has(4) ? param(n, 4) : undefined;
  }
  const count = starts.value ? starts.value.data.length : starts.tensor.shape[0];
  if (count === null || count === undefined) return n.unsupported('the number of sliced axes must be known when the graph is built');
  axes ??= int64Param(n, Array.from({ length: count }, (_, i) => i));
  steps ??= int64Param(n, new Array(count).fill(1));
  const values = [starts, ends, axes, steps].map((p) => (p.value ? Array.from(p.value.data as ArrayLike<number>) : undefined));
  if (values.every((v) => v)) {
    const attrs = onnxSliceAttrs(x.shape, values[0]!, values[1]!, values[2]!, values[3]!);
    if (attrs) {
      const strides = attrs.strides as number[];
      if (strides.every((s) => s === 1)) return [n.op('slice', [x], { begin: attrs.begin, size: attrs.size })];
      return [n.op('stridedSlice', [x], attrs)];
    }
  }
  return [withParams(n, 'onnx.Slice', [x], [starts, ends, axes, steps]).output(0)];
});

/** Indices as int32/int64 (ONNX allows only those; a float index tensor is a model error). */
function indices(n: OnnxNode, i: number): SymbolicTensor {
  const t = n.input(i);
  if (!isInteger(t.dtype)) n.fail(`indices must be int32 or int64, got ${t.dtype}`);
  return t;
}

defineOnnxOp('Gather', (n) => [n.op('gather', [n.input(0), indices(n, 1)], { axis: n.attr.int('axis', 0) })]);
defineOnnxOp('GatherElements', (n) => [n.op('gatherElements', [n.input(0), indices(n, 1)], { axis: n.attr.int('axis', 0) })]);
defineOnnxOp('GatherND', (n) => [n.op('gatherNd', [n.input(0), indices(n, 1)], { batchDims: n.attr.int('batch_dims', 0) })]);
defineOnnxOp(['ScatterElements', 'Scatter'], (n) => [
  n.op('scatterElements', [n.input(0), indices(n, 1), n.input(2)], { axis: n.attr.int('axis', 0), reduction: n.attr.string('reduction', 'none') }),
]);
defineOnnxOp('ScatterND', (n) => [n.op('scatterNd', [n.input(0), indices(n, 1), n.input(2)], { reduction: n.attr.string('reduction', 'none') })]);

defineOnnxOp('Expand', (n) => [withParams(n, 'onnx.Expand', [n.input(0)], [param(n, 1)]).output(0)]);

defineOnnxOp('Tile', (n) => {
  if (n.opset < 6) n.unsupported('Tile before opset 6 (tiles/axis inputs) is not supported');
  return [withParams(n, 'onnx.Tile', [n.input(0)], [param(n, 1)]).output(0)];
});

defineOnnxOp('Pad', (n) => {
  const x = n.input(0);
  const mode = n.attr.string('mode', 'constant');
  const modes = n.opset >= 19 ? ['constant', 'reflect', 'edge', 'wrap'] : ['constant', 'reflect', 'edge'];
  if (!modes.includes(mode)) n.fail(`pad mode '${mode}' is not ${modes.join(', ')}`);
  let pads: Param;
  let value: Param | undefined;
  if (n.opset < 11) {
    pads = int64Param(n, n.attr.ints(n.opset < 2 ? 'paddings' : 'pads'));
    value = constParam(n, tensor([n.attr.float('value', 0)], [], x.dtype));
  } else {
    pads = param(n, 1);
    value = n.has(2) ? param(n, 2) : undefined;
    if (n.has(3)) {
      const axes = n.numbers(3);
      if (!axes || !pads.value) n.unsupported('Pad axes computed at run time are not supported');
      pads = int64Param(n, onnxPaddingsToOnnxOrder(onnxPaddings(Array.from(pads.value!.data as ArrayLike<number>), x.rank, axes!), x.rank));
    }
  }
  if (pads.value && (!value || value.value)) {
    const paddings = onnxPaddings(Array.from(pads.value.data as ArrayLike<number>), x.rank);
    const constant = value?.value && value.value.data.length ? value.value.data[0] : 0;
    let y = x;
    if (paddings.some((p) => p < 0)) {
      // negative pads crop
      const begin = x.shape.map((_, i) => Math.max(0, -paddings[2 * i]));
      const size = x.shape.map((d, i) => (d === null ? -1 : d - begin[i] - Math.max(0, -paddings[2 * i + 1])));
      if (x.shape.some((d, i) => d === null && paddings[2 * i + 1] < 0)) n.unsupported('cropping an unknown dimension');
      y = n.op('slice', [x], { begin, size });
    }
    const positive = paddings.map((p) => Math.max(0, p));
    if (positive.every((p) => p === 0)) return [y];
    return [n.op('pad', [y], { paddings: positive, mode, constantValue: constant })];
  }
  return [withParams(n, 'onnx.Pad', [x], value ? [pads, value] : [pads], { mode }).output(0)];
});

/** graphc's [before, after] pairs back to ONNX's [begins..., ends...]. */
function onnxPaddingsToOnnxOrder(paddings: number[], rank: number): number[] {
  return [...Array.from({ length: rank }, (_, i) => paddings[2 * i]), ...Array.from({ length: rank }, (_, i) => paddings[2 * i + 1])];
}

defineOnnxOp('Shape', (n) => {
  const x = n.input(0);
  const rank = x.rank;
  const clamp = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const start = clamp(n.attr.int('start', 0));
  const end = clamp(n.attr.int('end', rank));
  const dims = x.shape.slice(start, Math.max(start, end));
  if (dims.every((d) => d !== null)) return [tensor(dims as number[], [dims.length], 'int64')];
  return [n.op('shapeOf', [x], { start, end })];
});

defineOnnxOp('Size', (n) => {
  const x = n.input(0);
  if (x.shape.every((d) => d !== null)) return [tensor([(x.shape as number[]).reduce((p, d) => p * d, 1)], [], 'int64')];
  return [n.op('reduceProd', [n.op('shapeOf', [x])], { axes: [0], keepDims: false })];
});

defineOnnxOp('ConstantOfShape', (n) => {
  const v = n.attr.tensor('value');
  const dtype: DType = v?.dtype ?? 'float32';
  const value = v && v.data.length ? v.data[0] : 0;
  return [withParams(n, 'onnx.ConstantOfShape', [], [param(n, 0)], { value, dtype }).output(0)];
});

defineOnnxOp('Range', (n) => {
  const dtype = n.info(0).dtype;
  return [withParams(n, 'onnx.Range', [], [param(n, 0), param(n, 1), param(n, 2)], { dtype }).output(0)];
});

defineOnnxOp('OneHot', (n) => {
  let idx = n.input(0);
  if (!isInteger(idx.dtype)) idx = n.op('cast', [idx], { dtype: 'int64' });
  const depth = param(n, 1);
  const values = param(n, 2);
  // ONNX counts negative indices from the end of the depth axis; graphc's oneHot treats them as off
  const depthAsIndex = castTo(n, depth.tensor.rank === 0 ? depth.tensor : n.op('reshape', [depth.tensor], { shape: [] }), idx.dtype);
  const wrapped = n.op('where', [n.op('less', [idx, scalarOf(n, 0, idx.dtype)]), n.op('add', [idx, depthAsIndex]), idx]);
  return [withParams(n, 'onnx.OneHot', [wrapped], [depth, values], { axis: n.attr.int('axis', -1), dtype: values.tensor.dtype }).output(0)];
});

defineOnnxOp('Trilu', (n) => [
  withParams(n, 'onnx.Trilu', [n.input(0)], [n.has(1) ? param(n, 1) : int64Param(n, [0])], { upper: n.attr.int('upper', 1) === 1 }).output(0),
]);

defineOnnxOp('CumSum', (n) => [
  withParams(n, 'onnx.CumSum', [n.input(0)], [param(n, 1)], { exclusive: n.attr.int('exclusive', 0) === 1, reverse: n.attr.int('reverse', 0) === 1 }).output(0),
]);

defineOnnxOp('TopK', (n) => {
  const k = n.opset < 10 ? int64Param(n, [n.attr.int('k')]) : param(n, 1);
  if (n.attr.int('sorted', 1) !== 1) {
    // unsorted output may be in any order: sorted is a valid answer
  }
  return withParams(n, 'onnx.TopK', [n.input(0)], [k], { axis: n.attr.int('axis', -1), largest: n.attr.int('largest', 1) === 1 }).outputTensors;
});

defineOnnxOp('NonZero', (n) => [n.op('nonZero', [n.input(0)])]);

defineOnnxOp('Compress', (n) => {
  let x = n.input(0);
  const where = n.op('reshape', [n.op('nonZero', [n.input(1)])], { shape: [-1] });
  if (!n.attr.has('axis')) {
    x = n.op('reshape', [x], { shape: [-1] });
    return [n.op('gather', [x, where], { axis: 0 })];
  }
  return [n.op('gather', [x, where], { axis: n.attr.int('axis') })];
});

defineOnnxOp('DepthToSpace', (n: OnnxNode) => {
  const x = n.input(0);
  const b = n.attr.int('blocksize');
  const mode = n.attr.string('mode', 'DCR');
  const [N, C, H, W] = x.shape;
  if (x.rank !== 4 || C === null || H === null || W === null) n.unsupported('DepthToSpace needs an [N, C, H, W] input with C, H and W known');
  if (C % (b * b) !== 0) n.fail(`${C} channels do not divide by blocksize^2 = ${b * b}`);
  const c = C / (b * b);
  const split = mode === 'CRD' ? [N, c, b, b, H, W] : [N, b, b, c, H, W];
  const perm = mode === 'CRD' ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2];
  const t = n.op('transpose', [reshapeTo(n, x, split)], { perm });
  return [reshapeTo(n, t, [N, c, H * b, W * b])];
});

defineOnnxOp('SpaceToDepth', (n: OnnxNode) => {
  const x = n.input(0);
  const b = n.attr.int('blocksize');
  const [N, C, H, W] = x.shape;
  if (x.rank !== 4 || C === null || H === null || W === null) n.unsupported('SpaceToDepth needs an [N, C, H, W] input with C, H and W known');
  if (H % b || W % b) n.fail(`H ${H} and W ${W} must divide by blocksize ${b}`);
  const t = n.op('transpose', [reshapeTo(n, x, [N, C, H / b, b, W / b, b])], { perm: [0, 3, 5, 1, 2, 4] });
  return [reshapeTo(n, t, [N, C * b * b, H / b, W / b])];
});

defineOnnxOp('EyeLike', (n: OnnxNode) => {
  const x = n.input(0);
  const [rows, cols] = x.shape;
  if (x.rank !== 2 || rows === null || cols === null) n.unsupported('EyeLike needs a 2-D input of known shape');
  const to = n.attr.has('dtype') ? n.attr.int('dtype') : n.elemType(0);
  const dtype = n.attr.has('dtype') ? dtypeOfOnnx(to, `node '${n.name}'`) : x.dtype;
  n.setElemType(0, to);
  const k = n.attr.int('k', 0);
  const v = tensor(new Array(rows * cols).fill(0), [rows, cols], dtype);
  for (let i = 0; i < rows; i++) if (i + k >= 0 && i + k < cols) v.data[i * cols + i + k] = 1;
  return [v];
});

defineOnnxOp('ReverseSequence', (n) => [
  n.op('reverseSequence', [n.input(0), indices(n, 1)], { timeAxis: n.attr.int('time_axis', 0), batchAxis: n.attr.int('batch_axis', 1) }),
]);

defineOnnxOp('Einsum', (n) => {
  const inputs = Array.from({ length: n.inputCount }, (_, i) => n.input(i));
  return [n.op('einsum', inputs, { equation: n.attr.string('equation') })];
});

defineOnnxOp('Det', (n) => [n.op('det', [n.input(0)])]);

defineOnnxOp('TfIdfVectorizer', (n) => {
  if (n.attr.has('pool_strings')) n.unsupported('pool_strings: string tokens are not supported (graphc holds numbers and bools only)');
  const x = n.input(0);
  if (!isInteger(x.dtype)) n.fail(`tokens must be int32 or int64, got ${x.dtype}`);
  return [
    n.op('tfIdfVectorizer', [x], {
      mode: n.attr.string('mode', 'TF'),
      minGramLength: n.attr.int('min_gram_length'),
      maxGramLength: n.attr.int('max_gram_length'),
      maxSkipCount: n.attr.int('max_skip_count'),
      pool: n.attr.ints('pool_int64s', []),
      ngramCounts: n.attr.ints('ngram_counts'),
      ngramIndexes: n.attr.ints('ngram_indexes'),
      weights: n.attr.floats('weights', []),
    }),
  ];
});
