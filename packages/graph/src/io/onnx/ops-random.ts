import type { DType } from '../../dtype';
import type { SymbolicTensor } from '../../graph';
import type { OnnxNode } from './context';
import { castTo } from './helpers';
import { defineOnnxOp } from './import';
import { dtypeOfOnnx } from './tensor';

/**
 * ONNX's random ops as graphc's seeded random ops (randomUniform, randomNormal, multinomial): each run draws
 * new values from the node's generator. The values cannot equal another runtime's (ONNX's test data
 * comes from numpy's generator); shapes, types and distributions do. The shape must be known at
 * import, as graphc's sources take it as an attribute.
 */

const ONNX_FLOAT = 1;
const ONNX_INT32 = 6;

/** The `seed` attribute (a float, but an int on Dropout) as graphc's integer seed; without one, graphc seeds by node name. */
function seedOf(n: OnnxNode): number | undefined {
  if (!n.attr.has('seed')) return undefined;
  return Math.trunc(n.type === 'Dropout' ? n.attr.int('seed') : n.attr.float('seed'));
}

/** The output dtype: attribute `dtype`, else `fallback` (an ONNX element type). */
function dtypeAttr(n: OnnxNode, fallback: number): DType {
  const elemType = n.attr.int('dtype', fallback);
  n.setElemType(0, elemType);
  return dtypeOfOnnx(elemType, `node '${n.name}'`);
}

/** A known shape: the attribute's, or input 0's for the *Like ops. */
function staticShape(n: OnnxNode, fromInput: boolean): number[] {
  const shape = fromInput ? n.input(0).shape : n.attr.ints('shape');
  if (shape.some((d) => d === null)) n.unsupported(`the shape ${JSON.stringify(shape)} must be known at import (graphc's random sources take it as an attribute)`);
  return shape as number[];
}

function uniform(n: OnnxNode, shape: number[], dtype: DType, low: number, high: number): SymbolicTensor {
  if (dtype !== 'float32' && dtype !== 'float64') n.unsupported(`random values of type ${dtype}`);
  const seed = seedOf(n);
  return n.op('randomUniform', [], { shape, minval: low, maxval: high, dtype, ...(seed === undefined ? {} : { seed }) });
}

function normal(n: OnnxNode, shape: number[], dtype: DType): SymbolicTensor {
  if (dtype !== 'float32' && dtype !== 'float64') n.unsupported(`random values of type ${dtype}`);
  const seed = seedOf(n);
  return n.op('randomNormal', [], { shape, mean: n.attr.float('mean', 0), stddev: n.attr.float('scale', 1), dtype, ...(seed === undefined ? {} : { seed }) });
}

defineOnnxOp('RandomUniform', (n) => [uniform(n, staticShape(n, false), dtypeAttr(n, ONNX_FLOAT), n.attr.float('low', 0), n.attr.float('high', 1))]);
defineOnnxOp('RandomNormal', (n) => [normal(n, staticShape(n, false), dtypeAttr(n, ONNX_FLOAT))]);
defineOnnxOp('RandomUniformLike', (n) => [uniform(n, staticShape(n, true), dtypeAttr(n, n.elemType(0)), n.attr.float('low', 0), n.attr.float('high', 1))]);
defineOnnxOp('RandomNormalLike', (n) => [normal(n, staticShape(n, true), dtypeAttr(n, n.elemType(0)))]);

/** Multinomial: sample_size class indices per row of unnormalized log-probabilities [batch, classes]. */
defineOnnxOp('Multinomial', (n) => {
  const seed = seedOf(n);
  const dtype = dtypeAttr(n, ONNX_INT32);
  return [n.op('multinomial', [n.input(0)], { numSamples: n.attr.int('sample_size', 1), dtype, ...(seed === undefined ? {} : { seed }) })];
});

/** Bernoulli: 1 with probability p (input 0, per element), else 0, in `dtype` (default p's). */
defineOnnxOp('Bernoulli', (n) => {
  const p = n.input(0);
  const dtype = dtypeAttr(n, n.elemType(0));
  const u = uniform(n, staticShape(n, true), p.dtype, 0, 1);
  return [castTo(n, n.op('less', [u, p]), dtype)];
});

/**
 * Dropout (opset 12 on: ratio and training_mode are inputs, possibly computed at run time). Out of
 * training it is the identity with an all-true mask. In training each element is kept with
 * probability 1 - ratio and scaled by 1 / (1 - ratio): keep = u >= ratio for u uniform in [0, 1),
 * which keeps everything at ratio 0. A training_mode known at import picks one branch; one computed
 * at run time selects between them per run. Before opset 12 Dropout has no training input: it is
 * read for inference.
 */
defineOnnxOp('Dropout', (n) => {
  const x = n.input(0);
  const ones = () => n.op('cast', [n.op('onesLike', [x])], { dtype: 'bool' });
  const inference = (): (SymbolicTensor | undefined)[] => [x, ...(n.outputCount > 1 ? [ones()] : [])];
  if (n.opset < 12 || !n.has(2)) return inference();
  const mode = n.numbers(2);
  if (mode && mode[0] === 0) return inference();
  const ratio = n.has(1) ? castTo(n, n.input(1), x.dtype) : n.constant(0.5, x.dtype);
  const known = n.numbers(1);
  if (known && !(known[0] >= 0 && known[0] < 1)) n.fail(`ratio must be in [0, 1), got ${known[0]}`);
  const keep = n.op('greaterEqual', [uniform(n, staticShape(n, true), x.dtype, 0, 1), ratio]);
  const scaled = n.op('div', [x, n.op('sub', [n.constant(1, x.dtype), ratio])]);
  let y = n.op('where', [keep, scaled, n.op('zerosLike', [x])]);
  let mask = keep;
  if (!mode) {
    const training = castTo(n, n.input(2), 'bool');
    y = n.op('where', [training, y, x]);
    mask = n.op('where', [training, keep, ones()]);
  }
  return [y, ...(n.outputCount > 1 ? [mask] : [])];
});
