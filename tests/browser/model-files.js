// Model files in a page (tests/browser/browser.test.ts): models/mlp's model.json and weights, and the
// same model as ONNX, fetched from the test's server and run on the webgpu backend.
/* eslint-disable no-undef */
(function (root) {
  const X = [0.5, -1, 2, 0.1, 1, 1, -0.5, 0.3];

  async function runModelFiles(graphc) {
    const { Session, initializeFromModel, importOnnx, modelFromBytes, tensor } = graphc;
    const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
    const json = await (await fetch('/models/mlp/model.json')).json();
    const model = modelFromBytes(json, await bytes(`/models/mlp/${json.weights.file}`), 'models/mlp/model.json');
    const s = new Session(model.graph, { backend: 'webgpu' });
    await initializeFromModel(s, model);
    const fromJson = await s.run(model.signature.outputs[0], { x: tensor(X, [2, 4]) });
    const onnx = importOnnx(await bytes('/mlp.onnx'), { file: 'mlp.onnx' });
    const fromOnnx = await new Session(onnx.graph, { backend: 'webgpu' }).run(onnx.signature.outputs[0], { [onnx.signature.inputs[0]]: tensor(X, [2, 4]) });
    return { json: Array.from(fromJson.data), onnx: Array.from(fromOnnx.data) };
  }

  if (typeof module === 'object' && module.exports) module.exports = { runModelFiles, X };
  else root.runModelFiles = runModelFiles;
})(typeof globalThis === 'object' ? globalThis : this);
