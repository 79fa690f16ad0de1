import { Graph, Session, ops, setSimdKernels, tensor } from 'graphc';
import { softmaxRowsSimd } from '../../packages/runtime/src/backends/cpu/wasm-softmax';

/**
 * float32 softmax and logSoftmax along the last axis on WebAssembly SIMD (wasm-softmax.ts) against
 * the JavaScript kernel (each e^x in double): within float32's own error, which is the rounding of
 * x - max (and of max + log(sum)) to float32, plus a few ulps; NaN and infinities as the JavaScript
 * kernel gives them; rows that are not whole vectors and other axes keep the JavaScript kernel.
 */

afterEach(() => setSimdKernels(true));

async function both(shape: number[], data: Float32Array, log: boolean, axis = -1) {
  const g = new Graph();
  const x = g.placeholder('float32', shape, 'x');
  const y = log ? ops.logSoftmax(x, axis) : ops.softmax(x, axis);
  const run = async (simd: boolean) => {
    expect(setSimdKernels(simd)).toBe(simd);
    const s = new Session(g);
    const out = await s.run(y, { x: tensor(data, shape) });
    s.close();
    return Float32Array.from(out.data);
  };
  const results = { simd: await run(true), js: await run(false) };
  setSimdKernels(true);
  return results;
}

function rows(count: number, len: number, seed: number, scale: number): Float32Array {
  return Float32Array.from({ length: count * len }, (_, i) => Math.sin(i * 1.37 + seed) * scale);
}

/** Per row: max and log-sum-exp in double, for the error bounds. */
function rowStats(data: Float32Array, len: number) {
  const out: { max: number; lse: number }[] = [];
  for (let r = 0; r < data.length / len; r++) {
    const row = Array.from(data.subarray(r * len, (r + 1) * len));
    const max = Math.max(...row);
    out.push({ max, lse: max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) });
  }
  return out;
}

describe('softmax on WebAssembly SIMD', () => {
  test('probabilities below the normal range are 0, never subnormal (a masked attention row)', async () => {
    // half of each row at the maximum (so 1 / sum is 1/32: a clamped e^x of 2^-126 would scale into
    // a subnormal), the rest 80 to 110 below it (e^x from about 1e-35 down into subnormals) or
    // -10000 (a mask's filter value): 0 either way
    const len = 64;
    const data = Float32Array.from({ length: 32 * len }, (_, i) => (i % 2 === 0 ? 0 : i % 3 === 0 ? -10000 : -80 - ((i * 7) % 31)));
    const { simd, js } = await both([32, len], data, false);
    const FLOAT32_MIN_NORMAL = 2 ** -126;
    expect(Array.from(js).some((v) => v > 0 && v < FLOAT32_MIN_NORMAL)).toBe(true); // the exact kernel's subnormals
    expect(Array.from(simd).filter((v) => v !== 0 && Math.abs(v) < FLOAT32_MIN_NORMAL)).toEqual([]);
    // (e^x below -87.34 is 2^-126 here, plus the polynomial's few ulps: 1.2e-38 absolute, as documented)
    for (let i = 0; i < simd.length; i++) expect(Math.abs(simd[i] - js[i])).toBeLessThanOrEqual(Math.max(1.2e-38, 4e-7 * js[i]));
  });

  test.each([
    [64, 1000, 5],
    [300, 12, 40],
    [2, 40000, 3], // rows over more than one chunk
    [1024, 4, 80],
  ])('%i rows of %i (values within +-%i): softmax and logSoftmax within float32 error of the JavaScript kernel', async (count, len, scale) => {
    const data = rows(count, len, count, scale);
    const stats = rowStats(data, len);
    const soft = await both([count, len], data, false);
    const logs = await both([count, len], data, true);
    for (let i = 0; i < data.length; i++) {
      const { max, lse } = stats[Math.floor(i / len)];
      // softmax: the float32 argument x - max is off by up to half its ulp, e^x by a few ulps more
      const want = soft.js[i];
      const relative = 2 ** -24 * Math.abs(data[i] - max) + 6 * 2 ** -24;
      if (!(Math.abs(soft.simd[i] - want) <= relative * want + 1e-37)) throw new Error(`softmax ${i}: ${soft.simd[i]} vs ${want}`);
      // logSoftmax: x - lse with lse rounded to float32
      const allowed = 2 ** -23 * (Math.abs(data[i]) + Math.abs(lse)) + 1e-30;
      if (!(Math.abs(logs.simd[i] - logs.js[i]) <= allowed)) throw new Error(`logSoftmax ${i}: ${logs.simd[i]} vs ${logs.js[i]}`);
    }
    // the SIMD path ran: a few values differ in their last bits
    expect(soft.simd.some((v, i) => v !== soft.js[i])).toBe(true);
  });

  test('NaN and infinities: a row with NaN or +Infinity is NaN, -Infinity gives 0 (log -Infinity), a row of -Infinity is NaN', async () => {
    const len = 8;
    const data = Float32Array.from([
      ...[1, 2, NaN, 4, 5, 6, 7, 8],
      ...[1, Infinity, 3, 4, 5, 6, 7, 8],
      ...[-Infinity, 0, 1, 2, 3, 4, 5, 6],
      ...Array(len).fill(-Infinity),
      ...rows(200, len, 1, 3),
    ]);
    for (const log of [false, true]) {
      const { simd, js } = await both([data.length / len, len], data, log);
      for (let i = 0; i < 4 * len; i++) {
        if (Number.isNaN(js[i])) expect(simd[i]).toBeNaN();
        else if (!Number.isFinite(js[i])) expect(simd[i]).toBe(js[i]);
        else expect(Math.abs(simd[i] - js[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(js[i])) + 1.2e-38);
      }
      // the row with -Infinity: softmax's first value is 0 within 1.2e-38 (e^x stops at 2^-126), logSoftmax's -Infinity
      expect(log ? simd[2 * len] : Math.abs(simd[2 * len])).toBe(log ? -Infinity : Math.abs(simd[2 * len]));
      if (!log) expect(simd[2 * len]).toBeLessThan(1.2e-38);
    }
  });

  test('sparse softmax cross entropy and its gradient: within float32 error of the JavaScript kernel; a bad label still names the node', async () => {
    const [batch, classes] = [96, 1000];
    const logits = rows(batch, classes, 7, 8);
    const labels = Int32Array.from({ length: batch }, (_, i) => (i * 37) % classes);
    // some dy negative: the gradient's per-row factor dy / sum is negative there
    const dy = Float32Array.from({ length: batch }, (_, i) => (i % 3 === 0 ? -1 : 1) * (0.5 + (i % 5) * 0.25));
    const g = new Graph();
    const x = g.placeholder('float32', [batch, classes], 'x');
    const y = g.placeholder('int32', [batch], 'y');
    const d = g.placeholder('float32', [batch], 'dy');
    const loss = ops.sparseSoftmaxCrossEntropyWithLogits(y, x);
    const grad = g.addNode('sparseSoftmaxCrossEntropyWithLogitsGrad', [y, x, d], {}).output(0);
    const run = async (simd: boolean, labelData = labels) => {
      setSimdKernels(simd);
      const s = new Session(g);
      try {
        return await s.run([loss, grad], { x: tensor(logits, [batch, classes]), y: tensor(labelData, [batch], 'int32'), dy: tensor(dy, [batch]) });
      } finally {
        s.close();
        setSimdKernels(true);
      }
    };
    const [simdLoss, simdGrad] = await run(true);
    const [jsLoss, jsGrad] = await run(false);
    const stats = rowStats(logits, classes);
    simdLoss.data.forEach((v, i) => {
      // log-sum-exp minus the label's logit, in double
      const want = stats[i].lse - logits[i * classes + labels[i]];
      expect(Math.abs(v - want)).toBeLessThan(2e-6 * Math.max(1, Math.abs(want)));
      expect(Math.abs(jsLoss.data[i] - want)).toBeLessThan(2e-6 * Math.max(1, Math.abs(want)));
    });
    let differs = false;
    simdGrad.data.forEach((v, i) => {
      const want = jsGrad.data[i];
      // softmax * dy: the float32 argument's rounding (|x - max| < 16 here) and a few ulps; minus dy at the label
      if (!(Math.abs(v - want) <= 2e-6 * (Math.abs(want) + Math.abs(dy[Math.floor(i / classes)]) * 1e-3) + 1e-37)) throw new Error(`grad ${i}: ${v} vs ${want}`);
      differs ||= v !== want;
    });
    expect(differs).toBe(true);
    const bad = labels.slice();
    bad[5] = classes;
    await expect(run(true, bad)).rejects.toThrow(/label 1000 at row 5 is outside the 1000 classes/);
  });

  test('rows that are not whole vectors, another axis, and few values keep the JavaScript kernel (the same bits)', async () => {
    for (const [shape, axis] of [[[300, 10], -1], [[40, 16, 8], 1], [[4, 8], -1]] as [number[], number][]) {
      const data = rows(shape.reduce((a, b) => a * b, 1) / shape[shape.length - 1], shape[shape.length - 1], 2, 4);
      for (const log of [false, true]) {
        const { simd, js } = await both(shape, data, log, axis);
        expect(Array.from(simd)).toEqual(Array.from(js));
      }
    }
    expect(softmaxRowsSimd(new Float32Array(4096), new Float32Array(4096), 10, false)).toBe(false);
    expect(softmaxRowsSimd(new Float32Array(4096), new Float32Array(4096), 16, false)).toBe(true);
  });
});
