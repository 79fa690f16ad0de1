import { TypedArray } from '@graphc/graph';
import { GEMM_TILE_ROWS, gemmWouldSplit, simdScratch } from '../../gemm';
import { SimdKernel, simdKernel } from '../../wasm-simd';
import { BlockEpilogue, MemoryEpilogue, epilogueOnMemory } from '../../wasm-elementwise';
import { WindowBlock, gemmThreads, runWindows } from '../../threads';
import { WindowGeometry } from './window';

/**
 * Whether convByWindows serves this convolution: rows undilated (any stride), output channels in whole
 * SIMD panels (the filter read in place: at most 256 per row), and no negative padding (an input
 * gradient's turned geometry can have some). A product the GEMM would split over worker threads
 * keeps the GEMM, which blocks a large filter in cache (not measured against this path on many
 * cores). Even a grayscale image's 3-value window rows ran faster here than as tap-major columns
 * (64x28x28x1 by 3x3x1x16: 3.1 against 4.2 ms, a one-off measurement at a4824a9).
 */
const windowsApply = (g: WindowGeometry, cout: number): boolean =>
  g.dw === 1 &&
  cout % 8 === 0 &&
  cout <= 256 &&
  Math.min(g.padTop, g.padBottom, g.padLeft, g.padRight) >= 0 &&
  !gemmWouldSplit(cout, g.kh * g.kw * g.c);

/**
 * float32 conv2d with no im2col at all: the batch is copied zero-padded into the SIMD kernels'
 * memory, and `windowTile` reads each output pixel's window straight from it, one window row
 * (kw * cin values side by side) at a time, four neighbouring pixels per tile (their windows
 * sw * cin values apart; an output row's windows start sh padded rows below the last's). The filter is B, read in place. The tiles accumulate into a C region laid out
 * as the output (each row padded to whole tiles), split by output rows over the worker threads
 * where the product is large enough, and copied out. A large batch runs a few images at a time, so
 * that the memory (kept at its largest size) holds about WINDOWS_STAGED_FLOATS. False where the
 * convolution is not one of these (windowsApply; float32) or the SIMD kernel is off or its memory
 * cannot grow: the caller's im2col path then writes all of `out`.
 */
export function convByWindows(x: TypedArray, filter: TypedArray, g: WindowGeometry, cout: number, out: TypedArray, epilogue?: BlockEpilogue): false | 'ran' | 'epilogue applied' {
  if (!(x instanceof Float32Array && out instanceof Float32Array) || !windowsApply(g, cout)) return false;
  const { n, h, w, c: cin, outH, outW } = g;
  const image = (h + g.padTop + g.padBottom) * (w + g.padLeft + g.padRight) * cin;
  const outImage = outH * Math.ceil(outW / GEMM_TILE_ROWS) * GEMM_TILE_ROWS * cout;
  const chunk = Math.max(1, Math.floor(WINDOWS_STAGED_FLOATS / (image + outImage)));
  // the kernel over the threads' shared memory where the first (largest) chunk splits over them
  const kernel = simdKernel(windowsSplit(g, Math.min(chunk, n), cout));
  if (!kernel) return false;
  const onRows = epilogue ? epilogueOnMemory(epilogue, kernel.memory) : undefined;
  for (let b0 = 0; b0 < n; b0 += chunk) {
    const images = Math.min(chunk, n - b0);
    const inImage = h * w * cin;
    const outPart = out.subarray(b0 * outH * outW * cout, (b0 + images) * outH * outW * cout);
    const rows = onRows && { epilogue: onRows, firstPixel: b0 * outH * outW };
    if (!windowsOfImages(x.subarray(b0 * inImage, (b0 + images) * inImage), filter, { ...g, n: images }, cout, outPart, kernel, rows)) return false;
  }
  return onRows ? 'epilogue applied' : 'ran';
}

/** Floats of padded images and output a window-read convolution stages at once (4 MB; at least one image). */
const WINDOWS_STAGED_FLOATS = 1 << 20;

/**
 * convByWindows over the images of `g` at once, on `expected` (false where the SIMD kernels now
 * give another); with `epilogue`, applied to the output in the kernel's memory, its rows numbered
 * from `firstPixel` in the whole output.
 */
function windowsOfImages(
  x: Float32Array,
  filter: TypedArray,
  g: WindowGeometry,
  cout: number,
  out: Float32Array,
  expected: SimdKernel,
  epilogue?: { epilogue: MemoryEpilogue; firstPixel: number },
): boolean {
  const { n, h, w, c: cin, kh, kw, dh, sh, sw, padTop, padLeft, outH, outW } = g;
  const pw = w + padLeft + g.padRight;
  const ph = h + padTop + g.padBottom;
  const image = ph * pw * cin;
  const tileRows = Math.ceil(outW / GEMM_TILE_ROWS);
  const rowFloats = tileRows * GEMM_TILE_ROWS * cout;
  const cBase = filter.length;
  const aBase = cBase + n * outH * rowFloats;
  // the last tile of a row may read windows up to three strides past the padded batch
  const aFloats = n * image + GEMM_TILE_ROWS * sw * cin;
  // the epilogue's extras (a bias row, a residual's rows) after A
  const eBase = Math.ceil((aBase + aFloats) / 4) * 4;
  const simd = simdScratch(eBase + (epilogue ? epilogue.epilogue.floats(n * outH * outW, cout) : 0), expected === simdKernel(true));
  if (!simd || simd.kernel !== expected) return false;
  const { kernel, memory } = simd;
  memory.set(filter, 0);
  kernel.zero(cBase * 4, (aBase + aFloats - cBase) * 4);
  const rowLength = w * cin;
  for (let b = 0; b < n; b++) {
    for (let iy = 0; iy < h; iy++) {
      const src = (b * h + iy) * rowLength;
      memory.set(x.subarray(src, src + rowLength), aBase + b * image + ((iy + padTop) * pw + padLeft) * cin);
    }
  }
  const bytes = 4;
  // output pixel (oy, ox)'s window starts at padded pixel (oy * sh, ox * sw)
  const block: WindowBlock = {
    a: aBase * bytes,
    lda: sw * cin * bytes,
    b: 0,
    bStep: cout * bytes,
    kc: kw * cin,
    segments: kh,
    segStride: dh * pw * cin * bytes,
    c: cBase * bytes,
    ldc: cout * bytes,
    rowTiles: tileRows,
    panels: cout / 8,
    rows: n * outH,
    rowsPerImage: outH,
    imageStride: image * bytes,
    aRowStride: sh * pw * cin * bytes,
    cRowStride: rowFloats * bytes,
  };
  runWindows(kernel, block, kernel === simdKernel(true) && windowsSplit(g, n, cout));
  const outRow = outW * cout;
  const onPixels = epilogue?.epilogue.bind(memory, eBase, n * outH * outW, cout, cout, epilogue.firstPixel);
  if (onPixels && outRow === rowFloats) onPixels(cBase, 0, n * outH * outW);
  // rows padded to whole tiles: the epilogue output row by output row
  else if (onPixels) for (let r = 0; r < n * outH; r++) onPixels(cBase + r * rowFloats, r * outW, outW);
  if (outRow === rowFloats) out.set(memory.subarray(cBase, cBase + n * outH * outRow));
  else for (let r = 0; r < n * outH; r++) out.set(memory.subarray(cBase + r * rowFloats, cBase + r * rowFloats + outRow), r * outRow);
  return true;
}

/** Multiply-adds of a window-read convolution worth waking the worker threads for (once per convolution). */
const WINDOWS_PARALLEL_MIN = 1 << 22;

/** Whether `images` images of a window-read convolution split over the worker threads now. */
const windowsSplit = (g: WindowGeometry, images: number, cout: number): boolean =>
  gemmThreads() > 1 && images * g.outH * g.outW * cout * g.kh * g.kw * g.c >= WINDOWS_PARALLEL_MIN;
