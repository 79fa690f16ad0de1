import { GEMM_TILE_ROWS, PackedB, gemmPacked, packMatrixB } from '../../gemm';
import { TensorValue } from '@graphc/graph';
import { CpuEpilogueKernel, registerCpuEpilogueKernel } from '../../kernel';
import { TAP_MAJOR_BLOCK, columnScratch, im2colMatrix, tapMajorApplies, tapMajorColumns } from './conv2d-columns';
import { convByWindows } from './conv2d-windows';
import { convWindowGeometry } from './window';

/**
 * conv2d as GEMM: the NHWC filter [KH, KW, Cin, Cout] already is a row-major (KH*KW*Cin) x Cout
 * matrix B, and row (n, oy, ox) of the im2col matrix A is the KH x KW input window of that output
 * pixel, Cin values per tap, in the same order. A·B is the NHWC output itself. Four ways to A:
 *
 * - 1x1 stride-1 unpadded: the input viewed as [N*H*W, Cin] is A.
 * - float32 at stride 1 (conv2d-windows.ts): A's rows are read straight from the padded image, one
 *   window row at a time; no im2col at all.
 * - one input channel, undilated stride-1 rows (conv2d-columns.ts): A transposed, tap by tap, a
 *   block of pixels at a time.
 * - otherwise the GEMM asks `im2colMatrix` for A a block at a time (MC rows x KC columns, in
 *   cache), copying each window's runs of channels straight from the image, with zeros where the
 *   window hangs over the padding; the filter is packed once per call.
 */
let packedFilter: PackedB | undefined;

/**
 * The convolution, applying a fused epilogue to each block of the GEMM's output where `epilogueFor`
 * gives one and the float32 GEMM runs (`applied`).
 */
const conv2d: CpuEpilogueKernel = (inputs, attrs, ctx, epilogueFor) => {
  const [x, filter] = inputs;
  const [kh, kw, cin, cout] = filter.shape;
  const g = convWindowGeometry(x, filter.shape, attrs, ctx, 'conv2d');
  const out = ctx.alloc(x.dtype, [g.n, g.outH, g.outW, cout]);
  const done = (applied = false): { outputs: TensorValue[]; applied: boolean } => ({ outputs: [out], applied });
  const k = kh * kw * cin;
  if (out.data.length === 0) return done();
  if (k === 0) {
    out.data.fill(0);
    return done();
  }
  const rows = g.n * g.outH * g.outW;
  const pointwise = kh === 1 && kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop + g.padBottom + g.padLeft + g.padRight === 0;
  const epilogue = epilogueFor(out) ?? undefined;
  const windows = !pointwise && convByWindows(x.data, filter.data, g, cout, out.data, epilogue);
  if (windows) return done(windows === 'epilogue applied');
  packedFilter = packMatrixB(k, cout, { data: filter.data, offset: 0, rowStride: cout, colStride: 1 }, packedFilter?.data);
  if (!pointwise && tapMajorApplies(x.data, g)) {
    // A block by block as the transpose of the tap-major columns (the GEMM reads it in place)
    const block = Math.min(rows, TAP_MAJOR_BLOCK);
    const columns = columnScratch(x.dtype, k * block);
    let blockEpilogue = epilogue;
    for (let r0 = 0; r0 < rows; r0 += block) {
      const count = Math.min(block, rows - r0);
      tapMajorColumns(x.data, g, r0, count, columns);
      const applied = gemmPacked(count, cout, k, { data: columns, offset: 0, rowStride: 1, colStride: count }, packedFilter, out.data, r0 * cout, false, cout, blockEpilogue);
      // the first block decides for all (the later ones need no more of the kernel's memory)
      if (!applied) blockEpilogue = undefined;
    }
    return done(blockEpilogue !== undefined);
  }
  const a = pointwise ? { data: x.data, offset: 0, rowStride: cin, colStride: 1 } : im2colMatrix(x.data, g);
  return done(gemmPacked(rows, cout, k, a, packedFilter, out.data, 0, false, cout, epilogue));
};

registerCpuEpilogueKernel('conv2d', conv2d);
