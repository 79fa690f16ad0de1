#!/usr/bin/env node
/**
 * One session fed many batch sizes, as a server sees requests of every size: ResNet-20 at batch 1,
 * 2, ..., --sizes, one run of each (which compiles its plan) and a second (which reuses it). Reports
 * the memory the session holds after each size, and the time of the first and second runs.
 *
 * Memory: on cpu the ArrayBuffer bytes of the process after a full GC (arenas, weights and inputs);
 * on webgpu the bytes of the buffers alive on the device, counted by wrapping the device's
 * createBuffer and each buffer's destroy (so older builds of graphc measure the same way).
 *
 * --onnx runs the model from its ONNX export, imported back: its weights are constants, which every
 * plan folds again (batch norms into the convolutions), where model.json holds them as variables.
 *
 *   npx tsc -b packages/cli && GRAPHC_CPU_THREADS=1 node bench/many-shapes.js [--backend cpu|webgpu] [--sizes 24] [--onnx]
 */
'use strict';
const { loadGraphc, seededArray, parseFlags } = require('./common');
const graphc = loadGraphc();
const { Session, loadModel, exportOnnx, importOnnx, tensor } = graphc;

const { backend: BACKEND, sizes: SIZES, onnx: ONNX } = parseFlags({ backend: 'cpu', sizes: 24, onnx: false });
require('v8').setFlagsFromString('--expose_gc');
const gc = require('vm').runInNewContext('gc');

/** Bytes of the device buffers created and not destroyed since `count` wrapped the device. */
function countDeviceBytes(device) {
  const live = { bytes: 0 };
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc) => {
    const buffer = create(desc);
    live.bytes += buffer.size;
    const destroy = buffer.destroy.bind(buffer);
    let destroyed = false;
    buffer.destroy = () => {
      if (!destroyed) live.bytes -= buffer.size;
      destroyed = true;
      destroy();
    };
    return buffer;
  };
  return live;
}

async function main() {
  const { graph: saved } = await loadModel('models/resnet20/model.json');
  let graph = saved;
  let input = 'x';
  let output = 'probs';
  const init = new Session(saved);
  await init.run(saved.globalVariablesInitializer());
  if (ONNX) {
    // the weights at their initial values, as constants of the ONNX file
    const { saveOnnx } = graphc;
    const file = require('path').join(require('os').tmpdir(), `graphc-many-shapes-${process.pid}.onnx`);
    await saveOnnx(saved, file, { session: init, outputs: ['probs'] });
    const imported = importOnnx(require('fs').readFileSync(file), { file });
    require('fs').unlinkSync(file);
    graph = imported.graph;
    [input] = imported.signature.inputs;
    [output] = imported.signature.outputs;
  }
  const session = new Session(graph, { backend: BACKEND });
  await session.backend.ready();
  const device = BACKEND === 'webgpu' ? countDeviceBytes(session.backend.ctx.device) : null;
  if (!ONNX) {
    await session.run(graph.globalVariablesInitializer());
    for (const name of init.variables.names()) session.variables.write(name, await init.variables.read(name));
  }
  const memory = () => {
    gc();
    gc();
    return device ? device.bytes : process.memoryUsage().arrayBuffers;
  };
  console.log(`ResNet-20${ONNX ? ' (its ONNX export)' : ''} on ${BACKEND}, batch 1..${SIZES}, graphc at ${require('path').join(__dirname, '..')}`);
  console.log('| batch | first run (compiles) | second run | memory held after |');
  console.log('|---:|---:|---:|---:|');
  let compileTotal = 0;
  for (let b = 1; b <= SIZES; b++) {
    const feeds = { [input]: tensor(seededArray(b * 32 * 32 * 3, b, 1), [b, 32, 32, 3]) };
    let t = performance.now();
    await session.run(output, feeds);
    const first = performance.now() - t;
    t = performance.now();
    await session.run(output, feeds);
    const second = performance.now() - t;
    compileTotal += first - second;
    if (b === 1 || b % 4 === 0 || b === SIZES) {
      console.log(`| ${b} | ${first.toFixed(1)} ms | ${second.toFixed(1)} ms | ${(memory() / 1e6).toFixed(1)} MB |`);
    }
  }
  console.log(`first runs took ${compileTotal.toFixed(0)} ms more than second runs in all; plans held: ${session.plans().length}`);
  session.close();
  if (BACKEND === 'webgpu') graphc.releaseGpu();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
