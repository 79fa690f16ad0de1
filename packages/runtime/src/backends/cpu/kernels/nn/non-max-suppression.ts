import type { TensorValue } from '@graphc/graph';
import { registerCpuKernel } from '../../kernel';

/**
 * nonMaxSuppression: greedy selection per (batch, class), as ONNX's reference implementation (and
 * onnxruntime): candidates by decreasing score, equal scores by increasing box index; a candidate is
 * dropped when its IOU with any box already kept for that class is strictly above the threshold.
 * Degenerate boxes (zero area) and disjoint or edge-touching boxes never suppress.
 */

/** The scalar in `t`, or undefined where the input is absent or empty (ONNX: not given). */
const scalar = (t: TensorValue | undefined): number | undefined => (t && t.data.length > 0 ? Number(t.data[0]) : undefined);

/** [xmin, ymin, xmax, ymax] of the box whose four values start at `at`. */
function corners(data: ArrayLike<number>, at: number, center: boolean): [number, number, number, number] {
  const [a, b, c, d] = [data[at], data[at + 1], data[at + 2], data[at + 3]];
  if (center) return [a - c / 2, b - d / 2, a + c / 2, b + d / 2];
  // [y1, x1, y2, x2] with the corners in either order
  return [Math.min(b, d), Math.min(a, c), Math.max(b, d), Math.max(a, c)];
}

export function suppresses(p: [number, number, number, number], q: [number, number, number, number], iouThreshold: number): boolean {
  const ix0 = Math.max(p[0], q[0]);
  const ix1 = Math.min(p[2], q[2]);
  if (ix1 <= ix0) return false;
  const iy0 = Math.max(p[1], q[1]);
  const iy1 = Math.min(p[3], q[3]);
  if (iy1 <= iy0) return false;
  const inter = (ix1 - ix0) * (iy1 - iy0);
  const areaP = (p[2] - p[0]) * (p[3] - p[1]);
  const areaQ = (q[2] - q[0]) * (q[3] - q[1]);
  const union = areaP + areaQ - inter;
  if (inter <= 0 || areaP <= 0 || areaQ <= 0 || union <= 0) return false;
  return inter / union > iouThreshold;
}

registerCpuKernel('nonMaxSuppression', ([boxes, scores, maxT, iouT, scoreT], attrs, ctx) => {
  const [batches, count] = boxes.shape;
  const classes = scores.shape[1];
  const maxPerClass = Math.max(0, scalar(maxT) ?? 0);
  const iouThreshold = scalar(iouT) ?? 0;
  const scoreThreshold = scalar(scoreT);
  const center = Number(attrs.centerPointBox ?? 0) === 1;
  const rows: number[] = [];
  const order: number[] = [];
  for (let b = 0; b < batches; b++) {
    const boxOf = (i: number) => corners(boxes.data as ArrayLike<number>, (b * count + i) * 4, center);
    for (let c = 0; c < classes; c++) {
      if (maxPerClass === 0) continue;
      const base = (b * classes + c) * count;
      order.length = 0;
      for (let i = 0; i < count; i++) if (scoreThreshold === undefined || scores.data[base + i] > scoreThreshold) order.push(i);
      order.sort((p, q) => (scores.data[base + q] - scores.data[base + p]) || p - q);
      const kept: [number, number, number, number][] = [];
      for (const i of order) {
        if (kept.length >= maxPerClass) break;
        const box = boxOf(i);
        if (kept.some((k) => suppresses(box, k, iouThreshold))) continue;
        kept.push(box);
        rows.push(b, c, i);
      }
    }
  }
  const out = ctx.alloc('int64', [rows.length / 3, 3]);
  out.data.set(rows);
  return [out];
});
