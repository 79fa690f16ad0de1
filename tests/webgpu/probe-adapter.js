// Prints {"available":bool,"reason"?,"adapter"?} for the webgpu tests: run in a child process so the
// test files can decide synchronously whether to run or skip (and say why) when they are collected.
const path = require('path');
process.env.XDG_RUNTIME_DIR = process.env.XDG_RUNTIME_DIR || require('os').tmpdir();
function load() {
  try {
    return require('webgpu');
  } catch {
    const dir = path.dirname(require.resolve('webgpu/package.json'));
    return require(path.join(dir, 'dist', `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`, 'dawn.node'));
  }
}
(async () => {
  let out;
  try {
    const gpu = load().create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) out = { available: false, reason: 'no WebGPU adapter (install lavapipe: bash .ci/install-gpu.sh)' };
    else {
      const device = await adapter.requestDevice();
      const info = adapter.info || {};
      out = { available: true, adapter: info.description || info.device || info.vendor || 'unknown' };
      device.destroy();
    }
  } catch (e) {
    out = { available: false, reason: `WebGPU unavailable: ${String((e && e.message) || e).split('\n')[0]}` };
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})();
