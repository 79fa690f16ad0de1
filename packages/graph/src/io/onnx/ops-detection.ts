import { SymbolicTensor } from '../../graph';
import { tensor } from '../../tensor';
import { castTo } from './helpers';
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
