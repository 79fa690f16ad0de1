import type { DType } from '../../dtype';
import { SymbolicTensor, TensorLike } from '../../graph';
import { registerOp } from '../../registry';
import { apply1 } from '../builder';
import { broadcastAll, requireDType, sameDType } from '../infer-helpers';

const NUMERIC: DType[] = ['float32', 'float64', 'int32', 'int64'];

/**
 * fmod(a, b): C's remainder, taking the dividend's sign (ONNX Mod with fmod=1); `mod` is the floor
 * modulo. An integer remainder by 0 is 0 (no trap), as integer `div`.
 */
registerOp({
  name: 'fmod',
  family: 'math',
  numInputs: 2,
  infer: (ctx) => {
    const dtype = sameDType(ctx);
    requireDType(ctx, 0, NUMERIC);
    return [{ dtype, shape: broadcastAll(ctx) }];
  },
  inplaceInput: 0,
  elementwise: {
    js: (_, dt) => (dt === 'int32' || dt === 'int64' ? '(b === 0 ? 0 : a % b)' : 'a % b'),
    wgsl: () => '(a - b * trunc(a / b))',
  },
});

/**
 * bitShift(a, b): `a << b` (direction 'left') or `a >> b` ('right') on non-negative integers
 * (ONNX BitShift on unsigned types), computed without 32-bit wrap: int64 values shift exactly up to 2^53.
 */
registerOp({
  name: 'bitShift',
  family: 'math',
  numInputs: 2,
  infer: (ctx) => {
    const dtype = sameDType(ctx);
    requireDType(ctx, 0, ['int32', 'int64']);
    return [{ dtype, shape: broadcastAll(ctx) }];
  },
  elementwise: {
    js: (at) => (at.direction === 'right' ? 'Math.floor(a / Math.pow(2, b))' : 'a * Math.pow(2, b)'),
  },
});

export function fmod(a: TensorLike, b: TensorLike, name?: string): SymbolicTensor {
  return apply1('fmod', [a, b], {}, name);
}

export function bitShift(a: TensorLike, b: TensorLike, direction: 'left' | 'right', name?: string): SymbolicTensor {
  return apply1('bitShift', [a, b], { direction }, name);
}
