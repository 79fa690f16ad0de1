import { SymbolicTensor } from '../../graph';
import { tensor } from '../../tensor';
import { registerDynamicAttrsRule } from '../../ops/array/dynamic-attrs';
import { castTo, param, withParams } from './helpers';
import { defineOnnxOp } from './import';

/** Detection and sampling ops: NonMaxSuppression, GridSample, Unique, RoiAlign, MaxUnpool. */

defineOnnxOp('NonMaxSuppression', (n) => {
  const center = n.attr.int('center_point_box', 0);
  if (center !== 0 && center !== 1) n.fail(`center_point_box must be 0 or 1, got ${center}`);
  // an omitted max means 0 (no output) and an omitted IOU threshold 0; an omitted score threshold
  // means none at all, so it is the only input left out of the graphc node
  const inputs: SymbolicTensor[] = [n.input(0), n.input(1)];
  inputs.push(n.has(2) ? n.input(2) : n.constant(tensor([0], [], 'int64')));
  inputs.push(n.has(3) ? n.input(3) : n.constant(tensor([0], [], n.input(0).dtype)));
  if (n.has(4)) inputs.push(n.input(4));
  return [n.op('nonMaxSuppression', inputs, { centerPointBox: center })];
});

defineOnnxOp('GridSample', (n) => {
  // opset 16 names the modes bilinear and bicubic; opset 20 linear and cubic, and allows any rank
  const raw = n.attr.string('mode', n.opset >= 20 ? 'linear' : 'bilinear');
  const mode = ({ bilinear: 'linear', bicubic: 'cubic' } as Record<string, string>)[raw] ?? raw;
  if (!['linear', 'nearest', 'cubic'].includes(mode)) n.fail(`mode '${raw}' is not ${n.opset >= 20 ? 'linear, nearest or cubic' : 'bilinear, nearest or bicubic'}`);
  const paddingMode = n.attr.string('padding_mode', 'zeros');
  if (!['zeros', 'border', 'reflection'].includes(paddingMode)) n.fail(`padding_mode '${paddingMode}' is not zeros, border or reflection`);
  const x = n.input(0);
  if (n.opset < 20 && x.rank !== 4) n.fail(`GridSample before opset 20 takes 4-D input, got rank ${x.rank}`);
  // the grid may have another float type than X
  return [n.op('gridSample', [x, castTo(n, n.input(1), x.dtype)], { mode, paddingMode, alignCorners: n.attr.int('align_corners', 0) === 1 })];
});

defineOnnxOp('Unique', (n) => {
  const attrs: Record<string, number | boolean> = { sorted: n.attr.int('sorted', 1) === 1 };
  if (n.attr.has('axis')) attrs.axis = n.attr.int('axis');
  return n.node('unique', [n.input(0)], attrs).outputTensors;
});

defineOnnxOp('RoiAlign', (n) => {
  // opset 16 added coordinate_transformation_mode, defaulting to half_pixel; opset 10 behaved as output_half_pixel
  const coordinateTransformationMode = n.opset >= 16 ? n.attr.string('coordinate_transformation_mode', 'half_pixel') : 'output_half_pixel';
  if (!['half_pixel', 'output_half_pixel'].includes(coordinateTransformationMode)) n.fail(`coordinate_transformation_mode '${coordinateTransformationMode}' is not half_pixel or output_half_pixel`);
  const mode = n.attr.string('mode', 'avg');
  if (mode !== 'avg' && mode !== 'max') n.fail(`mode '${mode}' is not avg or max`);
  const x = n.input(0);
  const attrs = {
    mode,
    outputHeight: n.attr.int('output_height', 1),
    outputWidth: n.attr.int('output_width', 1),
    samplingRatio: n.attr.int('sampling_ratio', 0),
    spatialScale: n.attr.float('spatial_scale', 1),
    coordinateTransformationMode,
  };
  return [n.op('roiAlign', [x, castTo(n, n.input(1), x.dtype), n.input(2)], attrs)];
});

registerDynamicAttrsRule('onnx.MaxUnpool', {
  target: 'maxUnpool',
  attrs: ([shape], _inputs, fixed) => ({ ...fixed, outputShape: Array.from(shape.data as ArrayLike<number>, Number) }),
  infer: ([x]) => [{ dtype: x.dtype, shape: x.shape.map(() => null) }],
});

defineOnnxOp('MaxUnpool', (n) => {
  const x = n.input(0);
  if (x.rank < 3) n.fail(`input must be [N, C, ...spatial], got rank ${x.rank}`);
  // the indices count over the unpooled shape, which inverts MaxPool's: (in - 1) * stride - pads + kernel
  const s = x.rank - 2;
  const kernel = n.attr.ints('kernel_shape');
  const strides = n.attr.ints('strides', new Array(s).fill(1));
  const pads = n.attr.ints('pads', new Array(2 * s).fill(0));
  if (kernel.length !== s || strides.length !== s || pads.length !== 2 * s) n.fail(`kernel_shape, strides and pads must have ${s}, ${s} and ${2 * s} entries`);
  if (!x.shape.every((d) => d !== null)) n.unsupported('the input shape must be known when the graph is built (it sets the unpooled shape)');
  const dims = x.shape as number[];
  const indexShape = [dims[0], dims[1], ...kernel.map((k, i) => (dims[i + 2] - 1) * strides[i] - pads[i] - pads[i + s] + k)];
  const data = [x, n.input(1)];
  // a larger output_shape pads the unpooled result with zeros at the end of each axis (ONNX's reference)
  if (n.has(2)) return [withParams(n, 'onnx.MaxUnpool', data, [param(n, 2)], { indexShape }).output(0)];
  return [n.op('maxUnpool', data, { outputShape: indexShape })];
});
