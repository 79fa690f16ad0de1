'use strict';
/**
 * TensorFlow.js as a peer for the model benchmarks: a graphc graph's ops replayed as tfjs ops, with
 * the same weights, so bench/models.js and bench/training.js time the same network in both and can
 * check that the two compute the same numbers. Only the ops of the models in models/ are mapped;
 * any other op is an error naming it (the peer must never silently compute something else).
 *
 * The backends: tfjs-backend-cpu (plain JavaScript) and tfjs-backend-wasm (XNNPACK on WebAssembly
 * SIMD; in Node it runs on one thread). tfjs-backend-wasm has no Conv2DBackpropFilter, so
 * convolutional training runs on the cpu backend only.
 */
const tf = require('@tensorflow/tfjs'); // the union package: it registers the gradients tfjs-core leaves out
require('@tensorflow/tfjs-backend-wasm');

// Production mode, as tfjs recommends for speed; it also keeps tfjs-backend-cpu's banner (install
// tfjs-node, native TensorFlow, which is not a JavaScript peer) out of the tables.
tf.enableProdMode();

const padding = (p) => p.toLowerCase();

/** Each graphc op as tfjs: (inputs as tfjs tensors, the node's attrs) => tfjs tensor. */
const OPS = {
  add: ([a, b]) => tf.add(a, b),
  mul: ([a, b]) => tf.mul(a, b),
  relu: ([x]) => tf.relu(x),
  identity: ([x]) => x,
  reshape: ([x], { shape }) => tf.reshape(x, shape),
  matmul: ([a, b], { transposeA, transposeB }) => tf.matMul(a, b, transposeA, transposeB),
  conv2d: ([x, w], { strides, padding: p, dilations }) => tf.conv2d(x, w, strides, padding(p), 'NHWC', dilations),
  maxPool: ([x], { ksize, strides, padding: p }) => tf.maxPool(x, ksize, strides, padding(p)),
  batchNorm: ([x, mean, variance, offset, scale], { varianceEpsilon }) => tf.batchNorm(x, mean, variance, offset, scale, varianceEpsilon),
  reduceMean: ([x], { axes, keepDims }) => tf.mean(x, axes, keepDims),
  softmax: ([x], { axis }) => tf.softmax(x, axis),
  sparseSoftmaxCrossEntropyWithLogits: ([labels, logits]) =>
    tf.neg(tf.sum(tf.mul(tf.oneHot(labels, logits.shape[logits.shape.length - 1]), tf.logSoftmax(logits)), -1)),
};

/** Switches tfjs to `backend` ('cpu' or 'wasm') and waits until it is ready. */
async function useBackend(backend) {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend '${backend}' did not start`);
  await tf.ready();
}

/** A graphc Tensor as a tfjs tensor (the caller disposes it). */
const toTf = (t) => tf.tensor(t.data, t.shape, t.dtype);

/**
 * The graph's network in tfjs on the current backend: its variables as tf.Variables holding
 * `initialValues` (graphc Tensors by variable name), and `run(feeds, names)`, which evaluates the named
 * tensors from feeds (tfjs tensors by placeholder name), visiting only the nodes they need.
 * Call it inside tf.tidy, or dispose what it returns.
 */
function tfjsNetwork(graph, initialValues) {
  const variables = new Map();
  for (const [name, value] of initialValues) variables.set(name, tf.tidy(() => tf.variable(toTf(value), true, `graphc/${name}`)));
  const constants = new Map();
  function run(feeds, names) {
    const values = new Map();
    const evaluate = (node) => {
      if (values.has(node.name)) return values.get(node.name);
      let value;
      if (node.op === 'placeholder') {
        value = feeds[node.name];
        if (!value) throw new Error(`tfjs peer: no feed for placeholder '${node.name}'`);
      } else if (node.op === 'variable') {
        value = variables.get(node.name);
        if (!value) throw new Error(`tfjs peer: no initial value for variable '${node.name}'`);
      } else if (node.op === 'const') {
        if (!constants.has(node.name)) constants.set(node.name, tf.keep(toTf(node.attrs.value)));
        value = constants.get(node.name);
      } else {
        const op = OPS[node.op];
        if (!op) throw new Error(`tfjs peer: op '${node.op}' (node '${node.name}') is not mapped`);
        value = op(node.inputs.map((t) => evaluate(t.node)), node.attrs);
      }
      values.set(node.name, value);
      return value;
    };
    return names.map((name) => evaluate(graph.node(name)));
  }
  const dispose = () => {
    for (const t of [...variables.values(), ...constants.values()]) t.dispose();
  };
  return { variables, run, dispose };
}

/** The data of a tfjs tensor, read back as a user would; the tensor is freed. */
async function readBack(t) {
  const data = await t.data();
  t.dispose();
  return data;
}

/**
 * The values of the graph's trainable variables in a graphc session, by name (to start the peer
 * from the same weights; an optimizer's slots and step counter are its own).
 */
async function variableValues(graph, session) {
  const names = graph.nodes.filter((n) => n.op === 'variable' && n.attrs.trainable).map((n) => n.name);
  const values = await session.run(names.map((n) => graph.tensor(n)));
  return new Map(names.map((n, i) => [n, values[i]]));
}

module.exports = { tf, useBackend, toTf, tfjsNetwork, readBack, variableValues };
