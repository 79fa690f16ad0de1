import { Attrs, NhwcWindow, nhwcWindow, sizeOf } from '@graphc/graph';
import { GpuTensorInfo, KernelPlan, NoGpuKernel, WebGpuKernelContext, WgslBinding, WgslDispatch, registerWebGpuKernel, requireDTypes } from '../kernel';
import { flatDispatch, u32Lit } from '../wgsl';
import { valueType } from './elementwise';

/**
 * Pools and their gradients, direct: the window is clipped to the input (padded cells never take
 * part: -infinity for max, not counted in the mean, as TensorFlow). The max pool's gradient finds
 * each window's first maximum (row-major scan, as the CPU reference) once per output in a first
 * dispatch, then every input cell sums dy over the windows whose maximum it is.
 */
type PoolGeometry = NhwcWindow;

function poolGeometry(x: number[], attrs: Attrs, where: string): PoolGeometry {
  const [kh, kw] = attrs.ksize as number[];
  return nhwcWindow(x, kh, kw, { ...attrs, dilations: [1, 1] }, where);
}

const U = u32Lit;

/** WGSL decoding output flat index `o` into (b, oy, ox, ch) and the window's clipped input range. */
function windowOf(g: PoolGeometry, o: string): string {
  return `let ch = ${o} % ${U(g.c)};
  let p = ${o} / ${U(g.c)};
  let ox = p % ${U(g.outW)}; let oy = (p / ${U(g.outW)}) % ${U(g.outH)}; let b = p / ${U(g.outW * g.outH)};
  let y0 = i32(oy * ${U(g.sh)}) - ${g.padTop}i; let x0 = i32(ox * ${U(g.sw)}) - ${g.padLeft}i;
  let yStart = u32(max(y0, 0i)); let yEnd = u32(clamp(y0 + ${g.kh}i, 0i, ${g.h}i));
  let xStart = u32(max(x0, 0i)); let xEnd = u32(clamp(x0 + ${g.kw}i, 0i, ${g.w}i));
  let imageBase = b * ${U(g.h * g.w * g.c)} + ch;`;
}

/** WGSL flat index of input cell (iy, ix) in the image and channel of `imageBase` (from windowOf). */
function cellAt(g: PoolGeometry): string {
  return `imageBase + (iy * ${U(g.w)} + ix) * ${U(g.c)}`;
}

/** WGSL fn `argmaxAt(o) -> i32`: flat x index of the first maximum of output o's window (-1 if empty). */
function argmaxFn(g: PoolGeometry): string {
  return `
fn argmaxAt(o: u32) -> i32 {
  ${windowOf(g, 'o')}
  if (yStart >= yEnd || xStart >= xEnd) { return -1i; }
  var at = imageBase + (yStart * ${U(g.w)} + xStart) * ${U(g.c)};
  var best = X[at];
  for (var iy = yStart; iy < yEnd; iy++) {
    for (var ix = xStart; ix < xEnd; ix++) {
      let idx = ${cellAt(g)};
      let v = X[idx];
      if (v > best) { best = v; at = idx; }
    }
  }
  return i32(at);
}`;
}

for (const kind of ['max', 'avg'] as const) {
  registerWebGpuKernel(kind === 'max' ? 'maxPool' : 'avgPool', (ctx): KernelPlan => {
    const x = ctx.inputs[0];
    if (x.dtype !== 'float32' && !(kind === 'max' && x.dtype === 'int32')) throw new NoGpuKernel(`${kind} pool of ${x.dtype}`);
    const type = valueType(x.dtype);
    const g = poolGeometry(x.shape, ctx.attrs, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
    const lowest = type === 'f32' ? '-gc_inf()' : 'i32(-2147483648)';
    const fold =
      kind === 'max'
        ? type === 'f32'
          ? 'if (!gc_isnan(acc) && (v > acc || gc_isnan(v))) { acc = v; }'
          : 'acc = max(acc, v);'
        : 'acc += v;';
    const result = kind === 'max' ? 'acc' : 'select(0.0, acc / f32((yEnd - yStart) * (xEnd - xStart)), yEnd > yStart && xEnd > xStart)';
    return {
      dispatches: [
        flatDispatch({
          n: sizeOf(ctx.outputs[0].shape),
          maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
          index: 'o',
          bindings: [
            { ref: { input: 0 }, name: 'X', type: `array<${type}>` },
            { ref: { output: 0 }, name: 'Y', type: `array<${type}>` },
          ],
          body: `${windowOf(g, 'o')}
  var acc = ${kind === 'max' ? lowest : '0.0'};
  for (var iy = yStart; iy < yEnd; iy++) {
    for (var ix = xStart; ix < xEnd; ix++) {
      let v = X[${cellAt(g)}];
      ${fold}
    }
  }
  Y[o] = ${result};`,
        }),
      ],
    };
  });
}

/** Input cells that window output (oy, ox) covers, inverted: the output rows/cols whose window holds (iy, ix). */
function windowsHolding(g: PoolGeometry): string {
  return `let oyLo = max(0i, (i32(iy) + ${g.padTop}i - ${g.kh}i + ${g.sh}i) / ${g.sh}i);
  let oyHi = min(${g.outH - 1}i, (i32(iy) + ${g.padTop}i) / ${g.sh}i);
  let oxLo = max(0i, (i32(ix) + ${g.padLeft}i - ${g.kw}i + ${g.sw}i) / ${g.sw}i);
  let oxHi = min(${g.outW - 1}i, (i32(ix) + ${g.padLeft}i) / ${g.sw}i);`;
}

function decodeInput(g: PoolGeometry): string {
  return `let ch = i % ${U(g.c)};
  let p = i / ${U(g.c)};
  let ix = p % ${U(g.w)}; let iy = (p / ${U(g.w)}) % ${U(g.h)}; let b = p / ${U(g.w * g.h)};`;
}

/** WGSL flat index of pooled output (b, oy, ox, ch), `oy` and `ox` being i32 window coordinates. */
function pooledAt(g: PoolGeometry): string {
  return `((b * ${U(g.outH)} + u32(oy)) * ${U(g.outW)} + u32(ox)) * ${U(g.c)} + ch`;
}

/**
 * A pool gradient's dispatch over input x, a thread per cell `i` summing into `acc`, over every
 * output window that holds the cell, what `term` adds (with `oy`, `ox`, `b`, `ch` in scope), then
 * storing it in DX: the forward's scatter turned into a gather, as WGSL has no float atomics.
 */
function windowGradDispatch(ctx: WebGpuKernelContext, g: PoolGeometry, bindings: WgslBinding[], term: string): WgslDispatch {
  return flatDispatch({
    n: g.n * g.h * g.w * g.c,
    maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
    bindings,
    body: `${decodeInput(g)}
  ${windowsHolding(g)}
  var acc = 0.0;
  for (var oy = oyLo; oy <= oyHi; oy++) {
    for (var ox = oxLo; ox <= oxHi; ox++) {
      ${term}
    }
  }
  DX[i] = acc;`,
  });
}

registerWebGpuKernel('maxPoolGrad', (ctx) => {
  requireDTypes(ctx, ['float32']);
  const [dy, x] = ctx.inputs;
  const g = poolGeometry(x.shape, ctx.attrs, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  const pooled = sizeOf(dy.shape);
  return {
    scratch: [pooled * 4],
    dispatches: [
      flatDispatch({
        n: pooled,
        maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
        index: 'o',
        decls: argmaxFn(g),
        bindings: [
          { ref: { input: 1 }, name: 'X', type: 'array<f32>' },
          { ref: { scratch: 0 }, name: 'ARG', type: 'array<i32>' },
        ],
        body: 'ARG[o] = argmaxAt(o);',
      }),
      windowGradDispatch(
        ctx,
        g,
        [
          { ref: { input: 0 }, name: 'DY', type: 'array<f32>' },
          { ref: { scratch: 0 }, name: 'ARG', type: 'array<i32>' },
          { ref: { output: 0 }, name: 'DX', type: 'array<f32>' },
        ],
        `let o = ${pooledAt(g)};
      if (ARG[o] == i32(i)) { acc += DY[o]; }`,
      ),
    ],
  };
});

registerWebGpuKernel('maxPoolGradGrad', (ctx) => {
  requireDTypes(ctx, ['float32']);
  const [, x] = ctx.inputs;
  const g = poolGeometry(x.shape, ctx.attrs, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  return {
    dispatches: [
      flatDispatch({
        n: sizeOf(ctx.outputs[0].shape),
        maxPerDim: ctx.limits.maxComputeWorkgroupsPerDimension,
        index: 'o',
        decls: argmaxFn(g),
        bindings: [
          { ref: { input: 0 }, name: 'DDX', type: 'array<f32>' },
          { ref: { input: 1 }, name: 'X', type: 'array<f32>' },
          { ref: { output: 0 }, name: 'Y', type: 'array<f32>' },
        ],
        body: `let at = argmaxAt(o);
  Y[o] = select(0.0, DDX[u32(max(at, 0i))], at >= 0i);`,
      }),
    ],
  };
});

registerWebGpuKernel('avgPoolGrad', (ctx) => {
  requireDTypes(ctx, ['float32']);
  const [, x] = ctx.inputs;
  const g = poolGeometry(x.shape, ctx.attrs, `op '${ctx.node.op}' (node '${ctx.node.name}'): `);
  return {
    dispatches: [
      windowGradDispatch(
        ctx,
        g,
        [
          { ref: { input: 0 }, name: 'DY', type: 'array<f32>' },
          { ref: { output: 0 }, name: 'DX', type: 'array<f32>' },
        ],
        `let y0 = oy * ${g.sh}i - ${g.padTop}i; let x0 = ox * ${g.sw}i - ${g.padLeft}i;
      let count = (min(y0 + ${g.kh}i, ${g.h}i) - max(y0, 0i)) * (min(x0 + ${g.kw}i, ${g.w}i) - max(x0, 0i));
      acc += DY[${pooledAt(g)}] / f32(count);`,
      ),
    ],
  };
});

export type { GpuTensorInfo, WebGpuKernelContext };
