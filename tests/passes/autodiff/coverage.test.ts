import { registeredOps } from 'graphc';

/**
 * Every op of the registry either has a gradient builder or is listed here with the reason it has
 * none. A new op fails this test until it gets one or a reason.
 */
const NOT_DIFFERENTIABLE: Record<string, string> = {
  // bool or integer results: nothing continuous to differentiate
  ...Object.fromEntries(
    ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr', 'logicalNot', 'isNaN', 'isInf', 'bitShift', 'argMax', 'argMin', 'shapeOf', 'nonZero', 'nonMaxSuppression', 'multinomial'].map(
      (n) => [n, 'bool or integer output'],
    ),
  ),
  oneHot: 'its only input is integer indices',
  tfIdfVectorizer: 'its only input is integer tokens',
  unique: 'a value-dependent selection: its y is x\'s distinct values, equal entries tie, the rest is integer',
  // sources and state: no data inputs, or updates that are not functions of their inputs
  ...Object.fromEntries(
    ['placeholder', 'const', 'variable', 'fill', 'range', 'randomUniform', 'randomNormal', 'truncatedNormal', 'noOp', 'assign', 'assignAdd', 'assignSub', 'fusedAssign', 'dynamicAttrs'].map((n) => [
      n,
      'source or state op',
    ]),
  ),
  // made by the optimizer's fusion passes, which run on plans after autodiff has run
  ...Object.fromEntries(['fusedElementwise', 'fusedMatmul', 'fusedConv2d', 'fusedDepthwiseConv2d'].map((n) => [n, 'created by fusion after autodiff'])),
};

/** Differentiable ops whose gradient is not written yet: none at present. */
const GRADIENT_NOT_WRITTEN: string[] = [];

test('every op has a gradient builder or a reason not to', () => {
  const missing = registeredOps()
    .filter((def) => !def.gradient && !(def.name in NOT_DIFFERENTIABLE) && !GRADIENT_NOT_WRITTEN.includes(def.name))
    .map((def) => def.name);
  expect(missing).toEqual([]);
});

test('the lists hold no op that has a gradient', () => {
  const withGradient = new Set(registeredOps().filter((d) => d.gradient).map((d) => d.name));
  expect([...Object.keys(NOT_DIFFERENTIABLE), ...GRADIENT_NOT_WRITTEN].filter((n) => withGradient.has(n))).toEqual([]);
});
