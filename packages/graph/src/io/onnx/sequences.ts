import { GraphcError } from '../../errors';
import { SymbolicTensor } from '../../graph';
import { cond } from '../../ops/control/functions';
import { Shape } from '../../shape';
import { TensorValue, tensor } from '../../tensor';
import { failAt, unsupportedAt } from './context';
import type { Known } from './import';
import { AttrType, AttributeProto, NodeProto, toNumber } from './proto';
import { DTYPE_TO_ONNX, dtypeOfOnnx } from './tensor';

/*
 * ONNX sequences, held by the importer: graphc's IR has tensors only, so a sequence value is a list
 * of tensor values (Known entries) whose length is known at import, and each sequence op rewrites
 * to ordinary ops on its elements as the model is read. A sequence must stay inside the graph:
 * one that is a graph input or output, or passes into or out of a Loop, If or Scan, is unsupported.
 *
 * Positions known at import edit the list directly. A position computed at run time keeps the
 * list's length known (Insert: n+1, Erase: n-1) and makes each element a run-time choice among the
 * two or three old elements that can land there: `Where` when they have one known shape, else a
 * `cond` (its output dimensions merge to unknown). Such a position is first checked by gathering it
 * from [0, 1, ..., n-1] (n for Insert, whose negative positions are shifted first): that normalizes a
 * negative position and makes one out of range a ShapeError at run time, raised only where an element
 * that depends on it is computed (a model that only takes the SequenceLength checks nothing).
 */

const INT64 = DTYPE_TO_ONNX.int64;
const FLOAT = DTYPE_TO_ONNX.float32;

export const SEQUENCE_OPS = new Set([
  'SequenceEmpty',
  'SequenceConstruct',
  'SequenceLength',
  'SequenceAt',
  'SequenceInsert',
  'SequenceErase',
  'SplitToSequence',
  'ConcatFromSequence',
]);

/** Most pieces a SplitToSequence may make: each becomes nodes of its own. */
const MAX_SEQUENCE_LENGTH = 10000;
/**
 * The opset the element-wise translations are asked in (Split's sizes and Squeeze's and
 * Unsqueeze's axes as inputs), whatever opset the model imports.
 */
export const TRANSLATION_OPSET = 13;

/** What a sequence op needs of the importer, bound to one node. */
export interface SequenceHost {
  /** Names the node in messages. */
  readonly where: string;
  /** Names what the node adds to the graph (its first output). */
  readonly label: string;
  /** The value called `name` in scope; undefined for an omitted optional input. */
  lookup(name: string): Known | undefined;
  define(name: string, k: Known): void;
  /** Translates an ordinary ONNX op (folded when its inputs are known); `tag` names its nodes. */
  translate(op: string, inputs: Known[], attrs: AttributeProto[], outputs: number, tag: string): Known[];
  /** The graph tensor of a value (a known one becomes a const node). */
  tensorOf(k: Known, tag: string): SymbolicTensor;
}

/** Reads one sequence node: its outputs become sequences or tensors in scope. */
export function importSequenceNode(host: SequenceHost, n: NodeProto): void {
  const type = n.opType ?? '';
  const ins = (n.input ?? []).map((name) => (name ? host.lookup(name) : undefined));
  const result = translateSequenceOp(type, new SequenceNode(host, n, ins));
  const out = n.output?.[0];
  if (out) host.define(out, result);
}

function translateSequenceOp(type: string, node: SequenceNode): Known {
  switch (type) {
    case 'SequenceEmpty':
      return sequenceEmpty(node);
    case 'SequenceConstruct':
      return node.sequenceOf(node.inputs.map((_, i) => node.tensorInput(i)));
    case 'SequenceLength':
      return knownValue(tensor([node.sequenceInput(0).length], [], 'int64'), INT64);
    case 'SequenceAt':
      return sequenceAt(node);
    case 'SequenceInsert':
      return sequenceInsert(node);
    case 'SequenceErase':
      return sequenceErase(node);
    case 'SplitToSequence':
      return splitToSequence(node);
    case 'ConcatFromSequence':
      return concatFromSequence(node);
    default:
      return failAt(node.host.where, `${type} is not a sequence op`);
  }
}

/** A sequence held by the importer: its elements, and their element type. */
function sequenceValue(elements: Known[], elemType: number, where: string): Known {
  const dtype = dtypeOfOnnx(elemType, where);
  // info stands for the elements' dtype; a sequence has no shape of its own
  return { sequence: elements, info: { dtype, shape: [] }, elemType };
}

function knownValue(value: TensorValue, elemType = DTYPE_TO_ONNX[value.dtype]): Known {
  return { value, info: { dtype: value.dtype, shape: value.shape }, elemType };
}

const intAttr = (name: string, i: number): AttributeProto => ({ name, type: AttrType.INT, i });
const int64s = (values: number[]): Known => knownValue(tensor(values, [values.length], 'int64'));
const int64 = (v: number): Known => knownValue(tensor([v], [], 'int64'));

/** One sequence node's inputs and attributes, with the checks every op makes of them. */
class SequenceNode {
  constructor(
    readonly host: SequenceHost,
    private readonly proto: NodeProto,
    readonly inputs: (Known | undefined)[],
  ) {}

  has(i: number): boolean {
    return this.inputs[i] !== undefined;
  }

  sequenceInput(i: number): Known[] {
    const k = this.inputs[i] ?? failAt(this.host.where, `input ${i} is required`);
    return k.sequence ?? failAt(this.host.where, `input ${i} ('${this.proto.input?.[i]}') is a tensor, not a sequence`);
  }

  elemTypeOf(i: number): number {
    return this.inputs[i]!.elemType;
  }

  tensorInput(i: number): Known {
    const k = this.inputs[i] ?? failAt(this.host.where, `input ${i} is required`);
    if (k.sequence) failAt(this.host.where, `input ${i} ('${this.proto.input?.[i]}') is a sequence, not a tensor`);
    return k;
  }

  /** A new sequence of these tensors, which must all have `elemType` (by default the first one's; float for none). */
  sequenceOf(elements: Known[], elemType = elements[0]?.elemType ?? FLOAT): Known {
    elements.forEach((e, i) => {
      if (e.elemType !== elemType) failAt(this.host.where, `element ${i} has ONNX element type ${e.elemType}, the sequence holds ${elemType}`);
    });
    return sequenceValue(elements, elemType, this.host.where);
  }

  attr(name: string): AttributeProto | undefined {
    return (this.proto.attribute ?? []).find((a) => a.name === name);
  }

  int(name: string, fallback: number): number {
    const a = this.attr(name);
    return a ? toNumber(a.i as never, `${this.host.where}: attribute '${name}'`) : fallback;
  }

  fail(message: string): never {
    return failAt(this.host.where, message);
  }

  unsupported(message: string): never {
    return unsupportedAt(this.host.where, this.proto.opType ?? '', message);
  }

  /**
   * Position input `i` (an int scalar) into a sequence of n elements: in [-n, n-1] for At and
   * Erase, [-n, n] for Insert (`inserting`), negative ones counting from the end (-1 is the last
   * element; Insert puts the tensor before it). A number when known at import, range-checked and
   * normalized; else the run-time check (see the top of this file).
   */
  position(i: number, n: number, inserting = false): number | Known {
    const k = this.tensorInput(i);
    if (k.info.dtype !== 'int32' && k.info.dtype !== 'int64') this.fail(`the position is ${k.info.dtype}, not an integer`);
    if (k.info.shape.some((d) => d !== null && d !== 1)) this.fail(`the position must be a scalar, got shape [${k.info.shape.join(', ')}]`);
    const last = inserting ? n : n - 1;
    if (k.value) {
      if (k.value.data.length !== 1) this.fail(`the position holds ${k.value.data.length} values, not 1`);
      const p = Number(k.value.data[0]);
      if (p < -n || p > last) this.fail(`position ${p} is outside [${-n}, ${last}]`);
      return p < 0 ? p + n : p;
    }
    if (last < 0) this.fail('a position into an empty sequence');
    const scalar = this.translate('Cast', [k.info.shape.length ? this.translate('Squeeze', [k], [], 'position') : k], [intAttr('to', INT64)], 'position');
    const slots = int64s(Array.from({ length: last + 1 }, (_, s) => s));
    // Gather wraps [-(n+1), -1] onto the n+1 slots of an Insert: shift [-n, -1] by n and push the rest out of range
    const index = inserting ? this.insertIndex(scalar, n) : scalar;
    return this.translate('Gather', [slots, index], [intAttr('axis', 0)], 'position');
  }

  /** p for p >= 0, p + n for -n <= p < 0, p - 1 (out of range of n+1 slots) below -n. */
  private insertIndex(p: Known, n: number): Known {
    const zero = int64(0);
    const below = this.translate('Less', [p, int64(-n)], [], 'position/below');
    const negative = this.translate('Less', [p, zero], [], 'position/negative');
    const wrapped = this.translate('Add', [p, int64(n)], [], 'position/wrapped');
    const outside = this.translate('Sub', [p, int64(1)], [], 'position/outside');
    return this.translate('Where', [negative, this.translate('Where', [below, outside, wrapped], [], 'position/fromEnd'), p], [], 'position/index');
  }

  /** One output of an ordinary ONNX op on these values. */
  translate(op: string, inputs: Known[], attrs: AttributeProto[], tag: string): Known {
    return this.host.translate(op, inputs, attrs, 1, tag)[0];
  }

  /** `pred ? a : b` at run time: Where when a and b have one known shape, else a cond (their ranks must agree). */
  select(pred: Known, a: Known, b: Known, tag: string): Known {
    if (a === b) return a;
    if (fullyKnown(a.info.shape) && sameShapes([a, b])) return this.translate('Where', [pred, a, b], [], tag);
    if (a.info.shape.length !== b.info.shape.length) {
      this.unsupported(`a position computed at run time chooses between elements of rank ${a.info.shape.length} and ${b.info.shape.length}; graphc needs them to agree`);
    }
    const host = this.host;
    let t: SymbolicTensor;
    try {
      t = cond(
        host.tensorOf(pred, `${tag}/pred`),
        () => host.tensorOf(a, `${tag}/then`),
        () => host.tensorOf(b, `${tag}/else`),
        `${host.label}/${tag}`,
      );
    } catch (e) {
      if (e instanceof GraphcError) this.fail(e.message);
      throw e;
    }
    return { tensor: t, info: { dtype: t.dtype, shape: t.shape }, elemType: a.elemType };
  }

  compare(op: 'Equal' | 'Less', slot: number, position: Known, tag: string): Known {
    return this.translate(op, [int64(slot), position], [], tag);
  }
}

function fullyKnown(shape: Shape): boolean {
  return shape.every((d) => d !== null);
}

function sameShapes(ks: Known[]): boolean {
  const first = ks[0].info.shape;
  return ks.every((k) => k.info.shape.length === first.length && k.info.shape.every((d, i) => d === first[i]));
}

function sequenceEmpty(node: SequenceNode): Known {
  return sequenceValue([], node.int('dtype', FLOAT), node.host.where);
}

/** SequenceAt: the element itself at a known position; at a run-time one, gathered from the stacked elements or picked by conds. */
function sequenceAt(node: SequenceNode): Known {
  const elements = node.sequenceInput(0);
  const pos = node.position(1, elements.length);
  if (typeof pos === 'number') return { ...elements[pos] };
  if (fullyKnown(elements[0].info.shape) && sameShapes(elements)) {
    return node.translate('Gather', [stack(node, elements, 0, 'stacked'), pos], [intAttr('axis', 0)], 'at');
  }
  // the last element is the fallback: the position check has ruled out every other slot
  let picked = elements[elements.length - 1];
  for (let k = elements.length - 2; k >= 0; k--) picked = node.select(node.compare('Equal', k, pos, `is${k}`), elements[k], picked, `at${k}`);
  return picked;
}

/** SequenceInsert: at a known position (the end by default) a list edit; at a run-time one, element i is old[i], the tensor or old[i-1]. */
function sequenceInsert(node: SequenceNode): Known {
  const elements = node.sequenceInput(0);
  const inserted = node.tensorInput(1);
  const elemType = node.elemTypeOf(0);
  const n = elements.length;
  const pos = node.has(2) ? node.position(2, n, true) : n;
  if (typeof pos === 'number') return node.sequenceOf([...elements.slice(0, pos), inserted, ...elements.slice(pos)], elemType);
  const result = Array.from({ length: n + 1 }, (_, i) => {
    // i < pos: old[i]; i == pos: the tensor; i > pos: old[i-1] (slot n is never below pos, slot 0 never above)
    const atOrAfter = i === 0 ? inserted : node.select(node.compare('Equal', i, pos, `is${i}`), inserted, elements[i - 1], `insert${i}`);
    return i === n ? atOrAfter : node.select(node.compare('Less', i, pos, `before${i}`), elements[i], atOrAfter, `keep${i}`);
  });
  return node.sequenceOf(result, elemType);
}

/** SequenceErase: at a known position (the last by default) a list edit; at a run-time one, element i is old[i] or old[i+1]. */
function sequenceErase(node: SequenceNode): Known {
  const elements = node.sequenceInput(0);
  const elemType = node.elemTypeOf(0);
  const n = elements.length;
  if (!node.has(1) && n === 0) node.fail('erases from an empty sequence');
  const pos = node.has(1) ? node.position(1, n) : n - 1;
  if (typeof pos === 'number') return node.sequenceOf([...elements.slice(0, pos), ...elements.slice(pos + 1)], elemType);
  const result = Array.from({ length: n - 1 }, (_, i) => node.select(node.compare('Less', i, pos, `before${i}`), elements[i], elements[i + 1], `erase${i}`));
  return node.sequenceOf(result, elemType);
}

/** The elements stacked along a new axis. */
function stack(node: SequenceNode, elements: Known[], axis: number, tag: string): Known {
  const expanded = elements.map((e, i) => node.translate('Unsqueeze', [e, int64s([axis])], [], `${tag}/expand${i}`));
  return node.translate('Concat', expanded, [intAttr('axis', axis)], tag);
}

/** ConcatFromSequence: Concat of the elements, or with new_axis=1 their stack. */
function concatFromSequence(node: SequenceNode): Known {
  const elements = node.sequenceInput(0);
  if (!node.attr('axis')) node.fail("required attribute 'axis' is missing");
  const axis = node.int('axis', 0);
  if (elements.length === 0) node.fail('concatenates an empty sequence');
  if (node.int('new_axis', 0) === 1) return stack(node, elements, axis, 'concat');
  return node.translate('Concat', elements, [intAttr('axis', axis)], 'concat');
}

/**
 * SplitToSequence: pieces of the given sizes, of a scalar chunk size (the last one smaller), or
 * without `split` pieces of length 1 (squeezed unless keepdims). The number of pieces must be known
 * at import; their sizes may come at run time.
 */
function splitToSequence(node: SequenceNode): Known {
  const x = node.tensorInput(0);
  const rank = x.info.shape.length;
  const axisAttr = node.int('axis', 0);
  if (axisAttr < -rank || axisAttr >= rank) node.fail(`axis ${axisAttr} is outside rank ${rank}`);
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  const dim = x.info.shape[axis];
  const split = node.has(1) ? node.tensorInput(1) : undefined;
  const pieces = (sizes: Known | undefined, count: number): Known[] => {
    if (count > MAX_SEQUENCE_LENGTH) node.unsupported(`${count} pieces: graphc holds sequences of at most ${MAX_SEQUENCE_LENGTH} elements`);
    if (count === 0) return [];
    return node.host.translate('Split', sizes ? [x, sizes] : [x], [intAttr('axis', axis)], count, 'piece');
  };
  if (!split) {
    if (dim === null) node.unsupported(`axis ${axis} has a length unknown at import, so is the number of pieces`);
    const ones = pieces(undefined, dim);
    if (node.int('keepdims', 1) !== 0) return node.sequenceOf(ones, x.elemType);
    return node.sequenceOf(ones.map((p, i) => node.translate('Squeeze', [p, int64s([axis])], [], `squeeze${i}`)), x.elemType);
  }
  if (split.info.shape.length === 0) {
    if (!split.value) node.unsupported('a chunk size computed at run time leaves the number of pieces unknown at import');
    if (dim === null) node.unsupported(`axis ${axis} has a length unknown at import, so is the number of pieces`);
    const chunk = Number(split.value.data[0]);
    if (!(chunk > 0)) node.fail(`chunk size ${chunk} is not positive`);
    const count = Math.ceil(dim / chunk);
    const sizes = Array.from({ length: count }, (_, i) => Math.min(chunk, dim - i * chunk));
    return node.sequenceOf(pieces(int64s(sizes), count), x.elemType);
  }
  if (split.info.shape.length !== 1) node.fail(`split must be a scalar or a 1-D tensor, got rank ${split.info.shape.length}`);
  const count = split.value ? split.value.data.length : split.info.shape[0];
  if (count === null) node.unsupported('split has a length unknown at import, so is the number of pieces');
  return node.sequenceOf(pieces(split, count), x.elemType);
}
