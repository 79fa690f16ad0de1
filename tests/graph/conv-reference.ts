/**
 * An independent reference for the convolution tests: a plain loop over the definition of an NHWC
 * convolution (and of a depthwise one), and TensorFlow's SAME padding written out from its
 * documentation.
 */

export interface Pads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** TensorFlow's SAME padding, written out from its documentation. */
export function samePads(inH: number, inW: number, kh: number, kw: number, s: [number, number], d: [number, number]): Pads {
  const outH = Math.ceil(inH / s[0]);
  const outW = Math.ceil(inW / s[1]);
  const ph = Math.max((outH - 1) * s[0] + (kh - 1) * d[0] + 1 - inH, 0);
  const pw = Math.max((outW - 1) * s[1] + (kw - 1) * d[1] + 1 - inW, 0);
  return { top: Math.floor(ph / 2), bottom: ph - Math.floor(ph / 2), left: Math.floor(pw / 2), right: pw - Math.floor(pw / 2) };
}

export function naiveConv(
  x: number[],
  [n, h, w, c]: number[],
  f: number[],
  [kh, kw, , co]: number[],
  s: [number, number],
  d: [number, number],
  p: Pads,
  depthwise = false,
): { data: number[]; shape: number[] } {
  const oh = Math.floor((h + p.top + p.bottom - ((kh - 1) * d[0] + 1)) / s[0]) + 1;
  const ow = Math.floor((w + p.left + p.right - ((kw - 1) * d[1] + 1)) / s[1]) + 1;
  const m = co; // depthwise: channel multiplier
  const outC = depthwise ? c * m : co;
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let oc = 0; oc < outC; oc++) {
          let sum = 0;
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * s[0] - p.top + ky * d[0];
              const ix = ox * s[1] - p.left + kx * d[1];
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              if (depthwise) {
                const ci = Math.floor(oc / m);
                sum += x[((b * h + iy) * w + ix) * c + ci] * f[((ky * kw + kx) * c + ci) * m + (oc % m)];
              } else {
                for (let ci = 0; ci < c; ci++) sum += x[((b * h + iy) * w + ix) * c + ci] * f[((ky * kw + kx) * c + ci) * co + oc];
              }
            }
          out.push(sum);
        }
  return { data: out, shape: [n, oh, ow, outC] };
}
