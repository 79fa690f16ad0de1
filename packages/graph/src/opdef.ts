import type { DType } from './dtype';
import type { Shape } from './shape';
import type { AttrValue, Node, SymbolicTensor } from './graph';
import type { OnnxExportRule } from './io/onnx/export-context';

/** What shape and dtype inference sees of one input. */
export interface OutputInfo {
  dtype: DType;
  shape: Shape;
}

export type Attrs = Record<string, AttrValue>;

/** Everything an OpDef's inference gets: the inputs' types, the attrs, and the node's name for errors. */
export interface InferContext {
  inputs: OutputInfo[];
  attrs: Attrs;
  /** `"op 'matmul' (node 'dense/MatMul'): "` — prefix for error messages. */
  where: string;
}

/** Arguments of a gradient builder: the forward node, its inputs and outputs, and dL/d(outputs). */
export interface GradientContext {
  node: Node;
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
  /** One per output; null where no gradient flows into that output. */
  grads: (SymbolicTensor | null)[];
  attrs: Attrs;
}

/** Returns one gradient per data input; null for inputs that take no gradient. */
export type GradientBuilder = (ctx: GradientContext) => (SymbolicTensor | null)[];

/**
 * Scalar form of an elementwise op, for fused kernels: an expression over the input names `a`, `b`,
 * `c` (in input order), with attrs substituted as literals by `attrs` before codegen.
 */
export interface ElementwiseExpr {
  /**
   * JavaScript expression, e.g. `Math.max(a, 0)`; may call the scalar helpers as `H.erf(a)` (see
   * `scalar-helpers`). `dtype` is the dtype of the inputs, for ops whose integer form differs.
   */
  js: (attrs: Attrs, dtype: DType) => string;
  /** WGSL expression over f32 values, e.g. `max(a, 0.0)`. */
  wgsl?: (attrs: Attrs, dtype: DType) => string;
}

export type OpFamily = 'math' | 'nn' | 'array' | 'reduce' | 'control' | 'state' | 'random' | 'fused';

/**
 * One op, everything about it in one place (as MXNet's NNVM attaches FInferShape, FGradient and
 * FInplaceOption to an op). Passes and backends ask the registry; they never switch on op names.
 */
export interface OpDef {
  name: string;
  family: OpFamily;
  /** Data input count; `'variadic'` for concat, group and the like. */
  numInputs: number | 'variadic';
  /** Infers every output's dtype and shape; throws a ShapeError/DTypeError naming the node. */
  infer(ctx: InferContext): OutputInfo[];
  /** Builds the gradient subgraph. Absent: not differentiable (an error if a gradient is required). */
  gradient?: GradientBuilder;
  /** Inputs whose gradient is identically zero or undefined (indices, shapes): skip, do not error. */
  nonDifferentiableInputs?: number[];
  /** Output 0 may overwrite this input's buffer when the input dies here (same size and dtype). */
  inplaceInput?: number;
  /** Present for pointwise ops with broadcasting: enables fusion and generated kernels. */
  elementwise?: ElementwiseExpr;
  /** Side effects (assign, random, ...): never pruned by CSE or folded as a constant. */
  stateful?: boolean;
  /** Output is fixed by attrs alone (const, zeros): a constant for folding even with no inputs. */
  isConstantSource?: boolean;
  /** Output only changes metadata (reshape, identity, expandDims): the runtime may alias the buffer. */
  aliasesInput?: boolean;
  /**
   * The op updates the variable at input 0 in place and outputs its new value: input 1 replaces the
   * old value ('replace', assign), is added to it ('add') or subtracted from it ('sub'), or attr
   * `program` computes the new value from the old ('program', fusedAssign). Backends bind the
   * variable's own storage as the output; the fusion pass folds an elementwise value into the update.
   */
  assignment?: 'replace' | 'add' | 'sub' | 'program';
  /** How the op is written as ONNX nodes; attached by io/onnx's export rules (`setOnnxExport`). */
  onnx?: OnnxExportRule;
}
