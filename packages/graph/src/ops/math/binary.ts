import type { DType } from '../../dtype';
import { SymbolicTensor, TensorLike } from '../../graph';
import type { ElementwiseExpr } from '../../opdef';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { broadcastAll, requireDType, sameDType } from '../infer-helpers';

const NUMERIC: DType[] = ['float32', 'float64', 'int32', 'int64'];
const isInt = (dt: DType): boolean => dt === 'int32' || dt === 'int64';

interface BinarySpec {
  name: string;
  dtypes: DType[];
  out?: DType;
  js: ElementwiseExpr['js'];
  wgsl: ElementwiseExpr['wgsl'];
}

/**
 * Pointwise two-input ops with numpy broadcasting. Integer division truncates toward zero (as C and
 * ONNX); `mod` is floor modulo (as TensorFlow's floormod and Python's %).
 */
const BINARY: BinarySpec[] = [
  { name: 'add', dtypes: NUMERIC, js: () => 'a + b', wgsl: () => 'a + b' },
  { name: 'sub', dtypes: NUMERIC, js: () => 'a - b', wgsl: () => 'a - b' },
  { name: 'mul', dtypes: NUMERIC, js: (_, dt) => (dt === 'int32' ? 'H.imul(a, b)' : 'a * b'), wgsl: () => 'a * b' },
  { name: 'div', dtypes: NUMERIC, js: (_, dt) => (isInt(dt) ? 'H.truncDiv(a, b)' : 'a / b'), wgsl: () => 'a / b' },
  { name: 'floorDiv', dtypes: NUMERIC, js: (_, dt) => (isInt(dt) ? 'H.floorDivInt(a, b)' : 'Math.floor(a / b)'), wgsl: () => 'floor(a / b)' },
  { name: 'pow', dtypes: NUMERIC, js: () => 'Math.pow(a, b)', wgsl: () => 'gc_pow(a, b)' },
  { name: 'maximum', dtypes: NUMERIC, js: () => '(a > b || a !== a ? a : b)', wgsl: () => 'max(a, b)' },
  { name: 'minimum', dtypes: NUMERIC, js: () => '(a < b || a !== a ? a : b)', wgsl: () => 'min(a, b)' },
  { name: 'mod', dtypes: NUMERIC, js: () => 'H.floorMod(a, b)', wgsl: () => '(a - b * floor(a / b))' },
  { name: 'squaredDifference', dtypes: NUMERIC, js: () => '(a - b) * (a - b)', wgsl: () => '(a - b) * (a - b)' },
  { name: 'equal', dtypes: [...NUMERIC, 'bool'], out: 'bool', js: () => '(a === b ? 1 : 0)', wgsl: () => 'select(0.0, 1.0, a == b)' },
  { name: 'notEqual', dtypes: [...NUMERIC, 'bool'], out: 'bool', js: () => '(a !== b ? 1 : 0)', wgsl: () => 'select(0.0, 1.0, a != b)' },
  { name: 'less', dtypes: NUMERIC, out: 'bool', js: () => '(a < b ? 1 : 0)', wgsl: () => 'select(0.0, 1.0, a < b)' },
  { name: 'lessEqual', dtypes: NUMERIC, out: 'bool', js: () => '(a <= b ? 1 : 0)', wgsl: () => 'select(0.0, 1.0, a <= b)' },
  { name: 'greater', dtypes: NUMERIC, out: 'bool', js: () => '(a > b ? 1 : 0)', wgsl: () => 'select(0.0, 1.0, a > b)' },
  { name: 'greaterEqual', dtypes: NUMERIC, out: 'bool', js: () => '(a >= b ? 1 : 0)', wgsl: () => 'select(0.0, 1.0, a >= b)' },
  { name: 'logicalAnd', dtypes: ['bool'], out: 'bool', js: () => '(a && b ? 1 : 0)', wgsl: () => 'select(0.0, 1.0, a != 0.0 && b != 0.0)' },
  { name: 'logicalOr', dtypes: ['bool'], out: 'bool', js: () => '(a || b ? 1 : 0)', wgsl: () => 'select(0.0, 1.0, a != 0.0 || b != 0.0)' },
];

for (const spec of BINARY) {
  registerOp({
    name: spec.name,
    family: 'math',
    numInputs: 2,
    infer: (ctx) => {
      const dt = sameDType(ctx);
      requireDType(ctx, 0, spec.dtypes);
      return [{ dtype: spec.out ?? dt, shape: broadcastAll(ctx) }];
    },
    inplaceInput: spec.out ? undefined : 0,
    elementwise: { js: spec.js, wgsl: spec.wgsl },
  });
}

registerOp({
  name: 'where',
  family: 'math',
  numInputs: 3,
  infer: (ctx) => {
    requireDType(ctx, 0, ['bool']);
    const dt = sameDType(ctx, [1, 2]);
    return [{ dtype: dt, shape: broadcastAll(ctx) }];
  },
  elementwise: { js: () => '(a ? b : c)', wgsl: () => 'select(c, b, a != 0.0)' },
});

const binary =
  (op: string) =>
  (a: TensorLike, b: TensorLike, name?: string): SymbolicTensor =>
    apply1(op, [a, b], {}, name);

export const add = binary('add');
export const sub = binary('sub');
export const mul = binary('mul');
export const div = binary('div');
export const floorDiv = binary('floorDiv');
export const pow = binary('pow');
export const maximum = binary('maximum');
export const minimum = binary('minimum');
export const mod = binary('mod');
export const squaredDifference = binary('squaredDifference');
export const equal = binary('equal');
export const notEqual = binary('notEqual');
export const less = binary('less');
export const lessEqual = binary('lessEqual');
export const greater = binary('greater');
export const greaterEqual = binary('greaterEqual');
export const logicalAnd = binary('logicalAnd');
export const logicalOr = binary('logicalOr');

/** Elementwise `condition ? x : y`, with broadcasting across all three. */
export function where(condition: TensorLike, x: TensorLike, y: TensorLike, name?: string): SymbolicTensor {
  // constants take the dtype of x/y, not of the bool condition
  const ref = [x, y].find((v): v is SymbolicTensor => v instanceof SymbolicTensor);
  if (ref && !(condition instanceof SymbolicTensor)) {
    condition = ref.graph.constant(typeof condition === 'boolean' ? [condition ? 1 : 0] : (condition as number[]), undefined, 'bool');
  }
  const g = ref?.graph ?? (condition instanceof SymbolicTensor ? condition.graph : undefined);
  const sx = x instanceof SymbolicTensor ? x : g!.constant(x as number, undefined, ref?.dtype);
  const sy = y instanceof SymbolicTensor ? y : g!.constant(y as number, undefined, ref?.dtype);
  return apply1('where', [condition, sx, sy], {}, name);
}
