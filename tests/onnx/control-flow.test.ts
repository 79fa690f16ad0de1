import { GraphcError, Session, importOnnx, tensor } from 'graphc';
import { cumulativeScan, shapeIf } from './control-flow-models';
import { buildModel, subgraph } from './onnx-builder';

/**
 * ONNX If: imported as the branch taken when the condition is known at import (a constant, or
 * folded from known shapes, as PyTorch's exporter leaves `if x.dim() == 4` and the like); a
 * condition computed at run time imports as a `cond` node (tests/onnx/runtime-control-flow.test.ts
 * holds run-time Loop and If to onnxruntime).
 */
const BOOL = 9;

test('a condition folded from known shapes imports the branch taken, reading outer values', async () => {
  const x = tensor([1, -2, 3, -4, 5, -6], [2, 3]);
  const then = importOnnx(buildModel(shapeIf(2)), { file: 'then.onnx' });
  expect(then.graph.nodes.some((n) => n.op === 'relu')).toBe(true);
  expect(Array.from((await new Session(then.graph).run('y', { x })).data)).toEqual([13, 10, 19, 10, 25, 10]);
  const otherwise = importOnnx(buildModel(shapeIf(3)), { file: 'else.onnx' });
  expect(otherwise.graph.nodes.some((n) => n.op === 'relu')).toBe(false);
  const x3 = tensor([1, -2, 3, -4, 5, -6, 0, 0, 0], [3, 3]);
  expect(Array.from((await new Session(otherwise.graph).run('y', { x: x3 })).data)).toEqual([0, -3, 2, -5, 4, -7, -1, -1, -1]);
});

test('nested If, and a branch that returns an outer value as it is', async () => {
  const inner = subgraph({ outputs: [{ name: 'x' }], nodes: [] }, 'inner');
  const model = buildModel({
    inputs: [{ name: 'x', shape: [2] }],
    outputs: [{ name: 'y' }],
    initializers: { yes: tensor([1], [], 'bool'), no: tensor([0], [], 'bool') },
    nodes: [
      {
        op: 'If',
        inputs: ['yes'],
        outputs: ['y'],
        attrs: {
          then_branch: {
            graph: subgraph({ outputs: [{ name: 'z' }], nodes: [{ op: 'If', inputs: ['no'], outputs: ['z'], attrs: { then_branch: { graph: subgraph({ outputs: [{ name: 'w' }], nodes: [{ op: 'Neg', inputs: ['x'], outputs: ['w'] }] }, 't2') }, else_branch: { graph: inner } } }] }, 't1'),
          },
          else_branch: { graph: subgraph({ outputs: [{ name: 'v' }], nodes: [{ op: 'Abs', inputs: ['x'], outputs: ['v'] }] }, 'e1') },
        },
      },
    ],
  });
  const { graph } = importOnnx(model, { file: 'nested.onnx' });
  expect(Array.from((await new Session(graph).run('y', { x: tensor([4, -5], [2]) })).data)).toEqual([4, -5]);
});

test('a condition computed at run time imports as a cond node that runs the branch the value picks', async () => {
  const branch = (name: string, op: string) => subgraph({ outputs: [{ name: `${name}_out` }], nodes: [{ op, inputs: ['x'], outputs: [`${name}_out`] }] }, name);
  const model = buildModel({
    inputs: [
      { name: 'x', shape: [2] },
      { name: 'flag', elemType: BOOL, shape: [] },
    ],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'If', inputs: ['flag'], outputs: ['y'], attrs: { then_branch: { graph: branch('a', 'Relu') }, else_branch: { graph: branch('b', 'Neg') } } }],
  });
  const { graph } = importOnnx(model, { file: 'dynamic-if.onnx' });
  expect(graph.nodes.filter((n) => n.op === 'cond').length).toBe(1);
  const s = new Session(graph);
  const x = tensor([3, -4], [2]);
  expect(Array.from((await s.run('y', { x, flag: tensor([1], [], 'bool') })).data)).toEqual([3, 0]);
  expect(Array.from((await s.run('y', { x, flag: tensor([0], [], 'bool') })).data)).toEqual([-3, 4]);
});

test('an unsupported op inside a branch is listed before anything is built; a branch reading an undefined value is a FormatError', () => {
  const model = (node: { op: string; inputs: string[] }) =>
    buildModel({
      inputs: [{ name: 'x', shape: [2] }],
      outputs: [{ name: 'y' }],
      initializers: { yes: tensor([1], [], 'bool') },
      nodes: [{ op: 'If', inputs: ['yes'], outputs: ['y'], attrs: { then_branch: { graph: subgraph({ outputs: [{ name: 'o' }], nodes: [{ ...node, outputs: ['o'] }] }) }, else_branch: { graph: subgraph({ outputs: [{ name: 'x' }], nodes: [] }, 'e') } } }],
    });
  expect(() => importOnnx(model({ op: 'NoSuchOp', inputs: ['x'] }), { file: 'm.onnx' })).toThrow(/does not support: NoSuchOp/);
  expect(() => importOnnx(model({ op: 'Relu', inputs: ['ghost'] }), { file: 'm.onnx' })).toThrow(GraphcError);
  expect(() => importOnnx(model({ op: 'Relu', inputs: ['ghost'] }), { file: 'm.onnx' })).toThrow(/'ghost'/);
});

test('subgraphs nested past 64 levels are a FormatError, not a stack overflow', () => {
  let g = subgraph({ outputs: [{ name: 'x' }], nodes: [] }, 'leaf');
  for (let d = 0; d < 200; d++) {
    // (the other branch a leaf: sharing one subgraph in both would double the file per level)
    const leaf = subgraph({ outputs: [{ name: 'x' }], nodes: [] }, `leaf${d}`);
    g = subgraph({ outputs: [{ name: `o${d}` }], nodes: [{ op: 'If', inputs: ['yes'], outputs: [`o${d}`], attrs: { then_branch: { graph: g }, else_branch: { graph: leaf } } }] }, `g${d}`);
  }
  const model = buildModel({
    inputs: [{ name: 'x', shape: [1] }],
    outputs: [{ name: 'y' }],
    initializers: { yes: tensor([1], [], 'bool') },
    nodes: [{ op: 'If', inputs: ['yes'], outputs: ['y'], attrs: { then_branch: { graph: g }, else_branch: { graph: subgraph({ outputs: [{ name: 'x' }], nodes: [] }, 'top') } } }],
  });
  expect(() => importOnnx(model, { file: 'deep.onnx' })).toThrow(/nested more than 64 deep/);
});

describe('Scan, unrolled over a sequence of known length', () => {
  const run = async (bytes: Uint8Array, x: number[], shape: number[]) => {
    const { graph } = importOnnx(bytes, { file: 'scan.onnx' });
    const [final, trace] = await new Session(graph).run(['final', 'trace'], { init: tensor([100, 200], [2]), x: tensor(x, shape) });
    return { final: Array.from(final.data), trace: Array.from(trace.data), shape: trace.shape };
  };

  test('forward over axis 0: the final state and every step stacked', async () => {
    const r = await run(cumulativeScan({ xShape: [3, 2] }), [1, 2, 3, 4, 5, 6], [3, 2]);
    expect(r.final).toEqual([109, 212]);
    expect(r.shape).toEqual([3, 2]);
    expect(r.trace).toEqual([1010, 2020, 1040, 2060, 1090, 2120]);
  });

  test('reverse input direction, scanning axis 1, outputs stacked along axis 1 and reversed', async () => {
    // x is [2, 3]: the rows of the scan are x's columns, taken last first
    const r = await run(cumulativeScan({ xShape: [2, 3], axis: 1, inDir: 1, outAxis: 1, outDir: 1 }), [1, 2, 3, 4, 5, 6], [2, 3]);
    expect(r.final).toEqual([106, 215]);
    // steps (col 2, col 1, col 0) give s = [103, 206], [105, 211], [106, 215]; reversed along axis 1
    expect(r.shape).toEqual([2, 3]);
    expect(r.trace).toEqual([1060, 1050, 1030, 2150, 2110, 2060]);
  });

  test('a scanned length unknown at import is unsupported, naming the node', () => {
    expect(() => importOnnx(cumulativeScan({ xShape: ['n', 2] }), { file: 'scan.onnx' })).toThrow(/node 'n0' \(Scan\).*known at import/);
  });
});
