import { SymbolicTensor } from '../../graph';
import { tensor } from '../../tensor';
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
