#!/usr/bin/env node
// Runs an ONNX model in onnxruntime-node for the export tests (jest's sandboxed realms and
// onnxruntime's typed-array checks do not mix, so the tests run it in this separate process).
// stdin: JSON [{ model: base64, feeds: { name: { dtype, shape, data: base64 float64 } }, outputs: [names] }, ...]
// stdout: JSON [{ outputs: [{ dtype, shape, data: base64 float64 }] } or { error }, ...], one per request
const ort = require('onnxruntime-node');

const f64 = (b64) => new Float64Array(new Uint8Array(Buffer.from(b64, 'base64')).buffer);
const b64 = (arr) => Buffer.from(Float64Array.from(arr, Number).buffer).toString('base64');

function toTensor({ dtype, shape, data }) {
  const v = f64(data);
  const typed = { float32: Float32Array, float64: Float64Array, int32: Int32Array }[dtype];
  if (typed) return new ort.Tensor(dtype, typed.from(v), shape);
  if (dtype === 'int64') return new ort.Tensor(dtype, BigInt64Array.from(v, (x) => BigInt(Math.trunc(x))), shape);
  if (dtype === 'bool') return new ort.Tensor(dtype, Uint8Array.from(v, (x) => (x ? 1 : 0)), shape);
  throw new Error(`dtype ${dtype}`);
}

let input = '';
process.stdin.on('data', (c) => (input += c));
async function runOne(req) {
  try {
    const session = await ort.InferenceSession.create(Buffer.from(req.model, 'base64'));
    const feeds = {};
    for (const [k, v] of Object.entries(req.feeds)) if (session.inputNames.includes(k)) feeds[k] = toTensor(v);
    const result = await session.run(feeds);
    const outputs = req.outputs.map((o) => {
      const t = result[o];
      return { dtype: t.type, shape: [...t.dims], data: b64(Array.from(t.data, Number)) };
    });
    return { outputs };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e).split('\n')[0] };
  }
}

process.stdin.on('end', async () => {
  const requests = JSON.parse(input);
  const replies = [];
  for (const req of requests) replies.push(await runOne(req));
  process.stdout.write(JSON.stringify(replies));
});
