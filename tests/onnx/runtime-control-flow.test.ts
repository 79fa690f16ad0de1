/**
 * ONNX Loop and If with run-time control: imported as whileLoop and cond nodes, run on the cpu and
 * held to hand-computed values and to onnxruntime on the original model; exported back as Loop and
 * If and run in onnxruntime to the same values. The official Loop, If and expanded Range cases run
 * both ways too.
 */
import * as fs from 'fs';
import * as path from 'path';
import { FormatError, Graph, Session, TensorValue, UnsupportedOpError, exportOnnx, importOnnx, onnx, ops, tensor } from 'graphc';
import { DEFAULT_DATA, compare, runCase, runInOrtBatch, runRoundTrip } from '../../scripts/conformance-harness';
import { ModelSpec, NodeSpec, buildModel, subgraph } from './onnx-builder';
import { OrtRun, checkAgainstOrt } from './ort-check';

const FLOAT = 1;
const INT64 = 7;
const BOOL = 9;

const values = (t: TensorValue): number[] => Array.from(t.data as ArrayLike<number>);

interface BodyInput {
  name: string;
  elemType?: number;
  /** Omitted: the input declares no type at all (as ONNX's expanded functions write Loop bodies). */
  shape?: number[];
}

/** A Loop body or If branch with typed (or untyped) inputs; outputs are untyped, as many writers leave them. */
function body(nodes: NodeSpec[], inputs: BodyInput[], outputs: string[], initializers: ModelSpec['initializers'] = {}): { graph: onnx.IGraphProto } {
  const g = subgraph({ nodes, outputs: outputs.map((name) => ({ name })), initializers }, 'body');
  g.output = outputs.map((name) => ({ name }));
  g.input = inputs.map((i) => (i.shape ? { name: i.name, type: { tensorType: { elemType: i.elemType ?? FLOAT, shape: { dim: i.shape.map((d) => ({ dimValue: d })) } } } } : { name: i.name }));
  return { graph: g };
}

const iterationIn = (name = 'i'): BodyInput => ({ name, elemType: INT64, shape: [] });
const condIn = (name = 'c'): BodyInput => ({ name, elemType: BOOL, shape: [] });

/**
 * s += x * i while sum(s) < limit, at most M times; scans: s after each step, and the iteration
 * number. x and limit are outer values the body reads. (The iteration number goes through an
 * Identity: onnxruntime 1.30 stacks the last one for every step when the body returns its input.)
 */
const accumulateLoop: ModelSpec = {
  inputs: [
    { name: 'M', elemType: INT64, shape: [] },
    { name: 'go', elemType: BOOL, shape: [] },
    { name: 's0', shape: [3] },
    { name: 'x', shape: [3] },
    { name: 'limit', shape: [] },
  ],
  outputs: [{ name: 's' }, { name: 'trace' }, { name: 'iters', elemType: INT64 }],
  nodes: [
    {
      op: 'Loop',
      inputs: ['M', 'go', 's0'],
      outputs: ['s', 'trace', 'iters'],
      attrs: {
        body: body(
          [
            { op: 'Cast', inputs: ['i'], outputs: ['fi'], attrs: { to: FLOAT } },
            { op: 'Mul', inputs: ['x', 'fi'], outputs: ['step'] },
            { op: 'Add', inputs: ['s_in', 'step'], outputs: ['s_out'] },
            { op: 'ReduceSum', inputs: ['s_out'], outputs: ['total'], attrs: { keepdims: 0 } },
            { op: 'Less', inputs: ['total', 'limit'], outputs: ['c_out'] },
            { op: 'Identity', inputs: ['s_out'], outputs: ['s_scan'] },
            { op: 'Identity', inputs: ['i'], outputs: ['i_scan'] },
          ],
          [iterationIn(), condIn(), { name: 's_in', shape: [3] }],
          ['c_out', 's_out', 's_scan', 'i_scan'],
        ),
      },
    },
  ],
};

/**
 * v ++ 2v, n times (M only, no cond input); the scan output is v's length read by Shape in the body.
 * The body returns its condition input as it is.
 */
const growingLoop: ModelSpec = {
  inputs: [
    { name: 'n', elemType: INT64, shape: [] },
    { name: 'v0', shape: [1] },
  ],
  outputs: [{ name: 'v' }, { name: 'lengths', elemType: INT64 }],
  initializers: { two: tensor([2], []) },
  nodes: [
    {
      op: 'Loop',
      inputs: ['n', '', 'v0'],
      outputs: ['v', 'lengths'],
      attrs: {
        body: body(
          [
            { op: 'Mul', inputs: ['v_in', 'two'], outputs: ['d'] },
            { op: 'Concat', inputs: ['v_in', 'd'], outputs: ['v_out'], attrs: { axis: 0 } },
            { op: 'Shape', inputs: ['v_in'], outputs: ['len'] },
          ],
          [iterationIn(), condIn(), { name: 'v_in' }],
          ['c', 'v_out', 'len'],
        ),
      },
    },
  ],
};

/**
 * A Loop whose body holds an If on the iteration's parity: the then branch adds w (an input of the
 * model, read two subgraphs down), the else branch multiplies by three (an initializer of the model).
 */
const nestedLoop: ModelSpec = {
  inputs: [
    { name: 'n', elemType: INT64, shape: [] },
    { name: 'acc0', shape: [2] },
    { name: 'w', shape: [2] },
  ],
  outputs: [{ name: 'acc' }],
  initializers: { two_i: tensor([2], [], 'int64'), zero_i: tensor([0], [], 'int64'), three: tensor([3], []) },
  nodes: [
    {
      op: 'Loop',
      inputs: ['n', '', 'acc0'],
      outputs: ['acc'],
      attrs: {
        body: body(
          [
            { op: 'Mod', inputs: ['i', 'two_i'], outputs: ['parity'] },
            { op: 'Equal', inputs: ['parity', 'zero_i'], outputs: ['even'] },
            {
              op: 'If',
              inputs: ['even'],
              outputs: ['next'],
              attrs: {
                then_branch: { graph: subgraph({ outputs: [{ name: 'plus' }], nodes: [{ op: 'Add', inputs: ['a_in', 'w'], outputs: ['plus'] }] }, 'then') },
                else_branch: { graph: subgraph({ outputs: [{ name: 'times' }], nodes: [{ op: 'Mul', inputs: ['a_in', 'three'], outputs: ['times'] }] }, 'else') },
              },
            },
            { op: 'Identity', inputs: ['c'], outputs: ['c_out'] },
          ],
          [iterationIn(), condIn(), { name: 'a_in', shape: [2] }],
          ['c_out', 'next'],
        ),
      },
    },
  ],
};

/** If sum(x) > 0, computed at run time: then x[0:2] and -x, else x ++ x and |x| (the first output's length differs). */
const shapeChangingIf: ModelSpec = {
  inputs: [{ name: 'x', shape: [4] }],
  outputs: [{ name: 'y' }, { name: 'z' }],
  initializers: { zero: tensor([0], []) },
  nodes: [
    { op: 'ReduceSum', inputs: ['x'], outputs: ['total'], attrs: { keepdims: 0 } },
    { op: 'Greater', inputs: ['total', 'zero'], outputs: ['positive'] },
    {
      op: 'If',
      inputs: ['positive'],
      outputs: ['y', 'z'],
      attrs: {
        then_branch: {
          graph: subgraph(
            {
              outputs: [{ name: 'head' }, { name: 'neg' }],
              initializers: { starts: tensor([0], [1], 'int64'), ends: tensor([2], [1], 'int64') },
              nodes: [
                { op: 'Slice', inputs: ['x', 'starts', 'ends'], outputs: ['head'] },
                { op: 'Neg', inputs: ['x'], outputs: ['neg'] },
              ],
            },
            'then',
          ),
        },
        else_branch: {
          graph: subgraph(
            {
              outputs: [{ name: 'twice' }, { name: 'abs' }],
              nodes: [
                { op: 'Concat', inputs: ['x', 'x'], outputs: ['twice'], attrs: { axis: 0 } },
                { op: 'Abs', inputs: ['x'], outputs: ['abs'] },
              ],
            },
            'else',
          ),
        },
      },
    },
  ],
};


const int64 = (v: number) => tensor([v], [], 'int64');
const bool = (v: boolean) => tensor([v ? 1 : 0], [], 'bool');

describe('Loop imports as whileLoop', () => {
  test('a run-time trip count and condition, with scan outputs and outer values read in the body', async () => {
    const feeds = (M: number, go: boolean) => ({ M: int64(M), go: bool(go), s0: tensor([0, 0, 0], [3]), x: tensor([1, 2, 3], [3]), limit: tensor([30], []) });
    const { graph } = importOnnx(buildModel(accumulateLoop), { file: 'accumulate.onnx' });
    expect(graph.nodes.filter((n) => n.op === 'whileLoop').length).toBe(1);
    expect(graph.tensor('trace').shape).toEqual([null, 3]);
    await checkAgainstOrt(
      accumulateLoop,
      [
        // sums 0, 6, 18, 36: the condition stops it after the fourth step
        { feeds: feeds(10, true), expected: [[6, 12, 18], [0, 0, 0, 1, 2, 3, 3, 6, 9, 6, 12, 18], [0, 1, 2, 3]] },
        // the trip count stops it first
        { feeds: feeds(2, true), expected: [[1, 2, 3], [0, 0, 0, 1, 2, 3], [0, 1]] },
      ],
      'accumulate.onnx',
    );
  });

  test('a condition false on entry runs no step: the initial values and empty scans come back', async () => {
    const { graph } = importOnnx(buildModel(accumulateLoop), { file: 'accumulate.onnx' });
    const [s, trace, iters] = await new Session(graph).run(['s', 'trace', 'iters'], { M: int64(10), go: bool(false), s0: tensor([7, 8, 9], [3]), x: tensor([1, 2, 3], [3]), limit: tensor([30], []) });
    expect(values(s)).toEqual([7, 8, 9]);
    expect(trace.shape).toEqual([0, 3]);
    expect(iters.shape).toEqual([0]);
  });

  test('a carried value that grows: its length becomes unknown, and Shape in the body reads it per step', async () => {
    const { graph } = importOnnx(buildModel(growingLoop), { file: 'grow.onnx' });
    expect(graph.tensor('v').shape).toEqual([null]);
    const feeds = (n: number) => ({ n: int64(n), v0: tensor([1], [1]) });
    await checkAgainstOrt(
      growingLoop,
      [
        { feeds: feeds(3), expected: [[1, 2, 2, 4, 2, 4, 4, 8], [1, 2, 4]] },
        { feeds: feeds(1), expected: [[1, 2], [1]] },
      ],
      'grow.onnx',
    );
  });

  test('an If inside the body reads a value of the body and an input and an initializer of the model', async () => {
    const feeds = (n: number) => ({ n: int64(n), acc0: tensor([1, 1], [2]), w: tensor([1, 2], [2]) });
    // even steps add w, odd ones triple: [2, 3], [6, 9], [7, 11], [21, 33]
    await checkAgainstOrt(nestedLoop, [{ feeds: feeds(4), expected: [[21, 33]] }, { feeds: feeds(1), expected: [[2, 3]] }], 'nested.onnx');
  });
});

describe('If on a run-time condition imports as cond', () => {
  test('branches whose outputs differ in length give an output of unknown length', async () => {
    const { graph } = importOnnx(buildModel(shapeChangingIf), { file: 'if.onnx' });
    expect(graph.nodes.some((n) => n.op === 'cond')).toBe(true);
    expect(graph.tensor('y').shape).toEqual([null]);
    expect(graph.tensor('z').shape).toEqual([4]);
    await checkAgainstOrt(
      shapeChangingIf,
      [
        { feeds: { x: tensor([1, -2, 3, 4], [4]) }, expected: [[1, -2], [-1, 2, -3, -4]] },
        { feeds: { x: tensor([-1, -2, 3, -4], [4]) }, expected: [[-1, -2, 3, -4, -1, -2, 3, -4], [1, 2, 3, 4]] },
      ],
      'if.onnx',
    );
  });

  test('branches whose outputs differ in rank are unsupported, naming the node', () => {
    const spec: ModelSpec = {
      inputs: [
        { name: 'flag', elemType: BOOL, shape: [] },
        { name: 'x', shape: [2] },
      ],
      outputs: [{ name: 'y' }],
      initializers: { scalar: tensor([1], []) },
      nodes: [{ op: 'If', inputs: ['flag'], outputs: ['y'], attrs: { then_branch: { graph: subgraph({ outputs: [{ name: 'x' }], nodes: [] }, 't') }, else_branch: { graph: subgraph({ outputs: [{ name: 'scalar' }], nodes: [] }, 'e') } } }],
    };
    expect(() => importOnnx(buildModel(spec), { file: 'ranks.onnx' })).toThrow(UnsupportedOpError);
    expect(() => importOnnx(buildModel(spec), { file: 'ranks.onnx' })).toThrow(/ranks\.onnx.*node 'n0' \(If\).*rank 1 in then_branch and 0 in else_branch/);
  });
});

describe('malformed Loop and If subgraphs are FormatErrors naming the file and node', () => {
  const loop = (attrs: NodeSpec['attrs'], inputs = ['n', '', 'v0']) =>
    buildModel({
      inputs: [
        { name: 'n', elemType: INT64, shape: [] },
        { name: 'v0', shape: [1] },
      ],
      outputs: [{ name: 'v' }],
      nodes: [{ op: 'Loop', inputs, outputs: ['v'], attrs }],
    });
  const passThrough = (inputs: BodyInput[], nodes: NodeSpec[] = [{ op: 'Identity', inputs: ['c'], outputs: ['c_out'] }], outputs = ['c_out', 'v_in']) => body(nodes, inputs, outputs);
  const expectFormatError = (bytes: Uint8Array, pattern: RegExp) => {
    let error: unknown;
    try {
      importOnnx(bytes, { file: 'bad.onnx' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FormatError);
    expect(String((error as Error).message)).toMatch(pattern);
  };

  test('a missing body, a body of the wrong arity, an undefined value read in the body, a carried dtype mismatch', () => {
    expectFormatError(loop({}), /bad\.onnx.*node 'n0' \(Loop\).*attribute 'body' \(a graph\) is missing/);
    expectFormatError(loop({ body: passThrough([iterationIn(), condIn()], undefined, ['c_out', 'c']) }), /bad\.onnx.*node 'n0' \(Loop\).*the body takes 2/);
    expectFormatError(loop({ body: passThrough([iterationIn(), condIn(), { name: 'v_in' }]) }, ['n']), /bad\.onnx.*node 'n0' \(Loop\)/);
    expectFormatError(
      loop({ body: passThrough([iterationIn(), condIn(), { name: 'v_in' }], [{ op: 'Identity', inputs: ['ghost'], outputs: ['c_out'] }]) }),
      /bad\.onnx.*'ghost' of node 'n0' \(Loop\) is not defined/,
    );
    expectFormatError(loop({ body: passThrough([iterationIn(), condIn(), { name: 'v_in', elemType: INT64, shape: [1] }]) }), /bad\.onnx.*node 'n0' \(Loop\).*declared int64/);
    // the body's condition output must be bool
    expectFormatError(loop({ body: passThrough([iterationIn(), condIn(), { name: 'v_in' }], [], ['v_in', 'v_in']) }), /bad\.onnx.*node 'n0' \(Loop\).*bool/);
  });

  test('an If branch with inputs', () => {
    const branch = body([{ op: 'Neg', inputs: ['x'], outputs: ['o'] }], [{ name: 'x', shape: [1] }], ['o']);
    const bytes = buildModel({
      inputs: [
        { name: 'flag', elemType: BOOL, shape: [] },
        { name: 'x', shape: [1] },
      ],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'If', inputs: ['flag'], outputs: ['y'], attrs: { then_branch: branch, else_branch: branch } }],
    });
    expectFormatError(bytes, /bad\.onnx.*node 'n0' \(If\).*takes 1 inputs; an If branch takes none/);
  });
});

describe('whileLoop and cond built with the TS API export as Loop and If', () => {
  test('onnxruntime runs the export to graphc values, captures read by name from the enclosing graphs', async () => {
    const g = new Graph();
    const n = g.placeholder('int32', [], 'n');
    const step = g.placeholder('float32', [2], 'step');
    const [count, acc] = ops.whileLoop(
      (i) => ops.less(i, n),
      (i, a) => [ops.add(i, 1), ops.cond(ops.less(i, 2), () => ops.add(a, step), () => ops.mul(a, step), 'pick')],
      [g.constant(0, 'i0', 'int32'), g.constant([1, 1], 'acc0')],
      { name: 'counter' },
    );
    const outputs = [count.name, acc.name];
    const bytes = exportOnnx(g, { outputs });
    const feeds = { n: tensor([4], [], 'int32'), step: tensor([2, 3], [2]) };
    const ours = await new Session(g).run(outputs, feeds);
    // [3, 4], [5, 7], then doubled and tripled twice: [20, 63]
    expect(ours.map(values)).toEqual([[4], [20, 63]]);
    const [reply] = runInOrtBatch([{ bytes, feeds, outputs }]);
    if (reply instanceof Error) throw reply;
    expect(reply.map((t, k) => compare(ours[k], t))).toEqual([undefined, undefined]);
    // the export reads back as the same ops
    const back = importOnnx(bytes, { file: 'exported.onnx' });
    expect(back.graph.nodes.filter((x) => x.op === 'whileLoop').length).toBe(1);
    expect(values((await new Session(back.graph).run(back.signature.outputs[1], feeds)))).toEqual([20, 63]);
  });
});

const data = process.env.ONNX_TESTDATA ?? DEFAULT_DATA;
const OFFICIAL = ['test_loop11', 'test_if', 'test_range_float_type_positive_delta_expanded', 'test_range_int32_type_negative_delta_expanded'];

(fs.existsSync(data) ? describe : describe.skip)("ONNX's Loop and If cases", () => {
  for (const name of OFFICIAL) {
    test(`${name}: graphc, and graphc's export in onnxruntime, give the expected outputs`, async () => {
      const dir = path.join(data, 'node', name);
      const run = await runCase(dir);
      expect([run.outcome, run.reason]).toEqual(['pass', undefined]);
      const trip = await runRoundTrip(dir);
      expect([trip.outcome, trip.reason]).toEqual(['pass', undefined]);
    });
  }
});
