/**
 * ONNX sequence ops inside a graph (tensor inputs and outputs, a length known at import): held by
 * the importer as lists of tensors and rewritten to ordinary ops. Each model runs in graphc and in
 * onnxruntime on the same feeds (and graphc's export of it too), at positions known at import and
 * computed at run time, with elements of one shape and of several.
 */
import { FormatError, GraphcError, Session, ShapeError, TensorValue, UnsupportedOpError, encodeModel, importOnnx, supportedOnnxOps, tensor } from 'graphc';
import { ModelSpec, buildModel, modelProto, subgraph } from './onnx-builder';
import { OrtRun, checkAgainstOrt } from './ort-check';

const INT64 = 7;

const values = (t: TensorValue): number[] => Array.from(t.data as ArrayLike<number>);
const int64 = (v: number) => tensor([v], [], 'int64');
const iota = (shape: number[], start = 0) => tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => start + i), shape);


/** The error a function throws (the test fails when it throws none). */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('no error thrown');
}

const xyz = (shapes: number[][]): ModelSpec['inputs'] => ['x', 'y', 'z'].slice(0, shapes.length).map((name, i) => ({ name, shape: shapes[i] }));
const xyzFeeds = (shapes: number[][]) => Object.fromEntries(['x', 'y', 'z'].slice(0, shapes.length).map((name, i) => [name, iota(shapes[i], 100 * i)]));

describe('sequence ops at positions known at import', () => {
  test('supportedOnnxOps lists them', () => {
    for (const op of ['SequenceEmpty', 'SequenceConstruct', 'SequenceLength', 'SequenceAt', 'SequenceInsert', 'SequenceErase', 'SplitToSequence', 'ConcatFromSequence']) {
      expect(supportedOnnxOps()).toContain(op);
    }
  });

  test('SequenceConstruct, SequenceAt (0 and -1) and SequenceLength: elements pass through, the length is a constant', async () => {
    const spec: ModelSpec = {
      inputs: xyz([[2], [3], [1]]),
      outputs: [{ name: 'first' }, { name: 'last' }, { name: 'length', elemType: INT64 }],
      initializers: { zero: int64(0), minus1: int64(-1) },
      nodes: [
        { op: 'SequenceConstruct', inputs: ['x', 'y', 'z'], outputs: ['s'] },
        { op: 'SequenceAt', inputs: ['s', 'zero'], outputs: ['first'] },
        { op: 'SequenceAt', inputs: ['s', 'minus1'], outputs: ['last'] },
        { op: 'SequenceLength', inputs: ['s'], outputs: ['length'] },
      ],
    };
    const { graph } = importOnnx(buildModel(spec), { file: 'at.onnx' });
    expect(graph.nodes.filter((n) => n.op === 'gather' || n.op === 'cond')).toEqual([]);
    await checkAgainstOrt(spec, [{ feeds: xyzFeeds([[2], [3], [1]]), expected: [[0, 1], [200], [3]] }], 'at.onnx');
  });

  test('SequenceEmpty and SequenceInsert (at the end, at 0, at -1) of differently shaped tensors, then ConcatFromSequence', async () => {
    const spec: ModelSpec = {
      inputs: xyz([[1, 2], [2, 2], [3, 2]]),
      outputs: [{ name: 'out' }, { name: 'length', elemType: INT64 }],
      initializers: { zero: int64(0), minus1: int64(-1) },
      nodes: [
        { op: 'SequenceEmpty', inputs: [], outputs: ['s0'] },
        { op: 'SequenceInsert', inputs: ['s0', 'x'], outputs: ['s1'] },
        { op: 'SequenceInsert', inputs: ['s1', 'y', 'zero'], outputs: ['s2'] },
        // -1 inserts before the last element: y, z, x
        { op: 'SequenceInsert', inputs: ['s2', 'z', 'minus1'], outputs: ['s3'] },
        { op: 'ConcatFromSequence', inputs: ['s3'], outputs: ['out'], attrs: { axis: 0 } },
        { op: 'SequenceLength', inputs: ['s3'], outputs: ['length'] },
      ],
    };
    const { graph } = importOnnx(buildModel(spec), { file: 'insert.onnx' });
    expect(graph.tensor('out').shape).toEqual([6, 2]);
    await checkAgainstOrt(spec, [{ feeds: xyzFeeds([[1, 2], [2, 2], [3, 2]]), expected: [[100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 0, 1], [3]] }], 'insert.onnx');
  });

  test('SequenceErase (the last by default, and at -2) and ConcatFromSequence with new_axis stacking on a negative axis', async () => {
    const spec: ModelSpec = {
      inputs: xyz([[2], [2], [2]]),
      outputs: [{ name: 'out' }],
      initializers: { minus2: int64(-2) },
      nodes: [
        { op: 'SequenceConstruct', inputs: ['x', 'y', 'z', 'x'], outputs: ['s'] },
        { op: 'SequenceErase', inputs: ['s'], outputs: ['s1'] },
        { op: 'SequenceErase', inputs: ['s1', 'minus2'], outputs: ['s2'] },
        { op: 'ConcatFromSequence', inputs: ['s2'], outputs: ['out'], attrs: { axis: -1, new_axis: 1 } },
      ],
    };
    const { graph } = importOnnx(buildModel(spec), { file: 'erase.onnx' });
    expect(graph.tensor('out').shape).toEqual([2, 2]);
    await checkAgainstOrt(spec, [{ feeds: xyzFeeds([[2], [2], [2]]), expected: [[0, 200, 1, 201]] }], 'erase.onnx');
  });

  test('SplitToSequence: pieces of length 1 (squeezed or kept), a chunk size, sizes known and sizes fed at run time', async () => {
    const spec: ModelSpec = {
      inputs: [
        { name: 'x', shape: [5, 2] },
        { name: 'sizes', elemType: INT64, shape: [2] },
      ],
      outputs: [{ name: 'rows' }, { name: 'kept' }, { name: 'chunks' }, { name: 'known' }, { name: 'fed' }, { name: 'count', elemType: INT64 }],
      initializers: { two: int64(2), minus1: int64(-1), sizes14: tensor([1, 4], [2], 'int64') },
      nodes: [
        { op: 'SplitToSequence', inputs: ['x'], outputs: ['rowSeq'], attrs: { axis: 0, keepdims: 0 } },
        { op: 'ConcatFromSequence', inputs: ['rowSeq'], outputs: ['rows'], attrs: { axis: 0, new_axis: 1 } },
        { op: 'SplitToSequence', inputs: ['x'], outputs: ['colSeq'], attrs: { axis: -1 } },
        { op: 'ConcatFromSequence', inputs: ['colSeq'], outputs: ['kept'], attrs: { axis: 0 } },
        // 5 rows in chunks of 2: 2, 2, 1
        { op: 'SplitToSequence', inputs: ['x', 'two'], outputs: ['chunkSeq'] },
        { op: 'SequenceAt', inputs: ['chunkSeq', 'two'], outputs: ['chunks'] },
        { op: 'SplitToSequence', inputs: ['x', 'sizes14'], outputs: ['knownSeq'] },
        { op: 'SequenceAt', inputs: ['knownSeq', 'minus1'], outputs: ['known'] },
        { op: 'SplitToSequence', inputs: ['x', 'sizes'], outputs: ['fedSeq'] },
        { op: 'SequenceAt', inputs: ['fedSeq', 'minus1'], outputs: ['fed'] },
        { op: 'SequenceLength', inputs: ['chunkSeq'], outputs: ['count'] },
      ],
    };
    const x = iota([5, 2]);
    await checkAgainstOrt(
      spec,
      [
        {
          feeds: { x, sizes: tensor([3, 2], [2], 'int64') },
          expected: [values(x), [0, 2, 4, 6, 8, 1, 3, 5, 7, 9], [8, 9], [2, 3, 4, 5, 6, 7, 8, 9], [6, 7, 8, 9], [3]],
        },
        { feeds: { x, sizes: tensor([4, 1], [2], 'int64') } },
      ],
      'split.onnx',
    );
  });
});

describe('sequence ops at positions computed at run time', () => {
  const at = (shapes: number[][]): ModelSpec => ({
    inputs: [...xyz(shapes), { name: 'pos', elemType: INT64, shape: [] }],
    outputs: [{ name: 'out' }],
    nodes: [
      { op: 'SequenceConstruct', inputs: ['x', 'y', 'z'], outputs: ['s'] },
      { op: 'SequenceAt', inputs: ['s', 'pos'], outputs: ['out'] },
    ],
  });
  const positions = (n: number) => Array.from({ length: 2 * n }, (_, i) => i - n);

  test('SequenceAt of elements of one shape gathers from their stack, negative positions too', async () => {
    const shapes = [[2], [2], [2]];
    const { graph } = importOnnx(buildModel(at(shapes)), { file: 'at.onnx' });
    expect(graph.nodes.some((n) => n.op === 'cond')).toBe(false);
    expect(graph.tensor('out').shape).toEqual([2]);
    await checkAgainstOrt(at(shapes), positions(3).map((p) => ({ feeds: { ...xyzFeeds(shapes), pos: int64(p) } })), 'at.onnx');
  });

  test('SequenceAt of differently shaped elements picks one with conds; its dimensions become unknown', async () => {
    const shapes = [[1, 2], [2, 2], [3, 2]];
    const { graph } = importOnnx(buildModel(at(shapes)), { file: 'at.onnx' });
    expect(graph.nodes.filter((n) => n.op === 'cond').length).toBe(2);
    expect(graph.tensor('out').shape).toEqual([null, 2]);
    const feeds = (p: number) => ({ ...xyzFeeds(shapes), pos: int64(p) });
    await checkAgainstOrt(at(shapes), [{ feeds: feeds(1), expected: [[100, 101, 102, 103]] }, ...positions(3).map((p) => ({ feeds: feeds(p) }))], 'at.onnx');
  });

  const insertThenConcat = (shapes: number[][]): ModelSpec => ({
    inputs: [...xyz(shapes), { name: 'pos', elemType: INT64, shape: [] }],
    outputs: [{ name: 'out' }, { name: 'length', elemType: INT64 }],
    nodes: [
      { op: 'SequenceConstruct', inputs: ['x', 'y'], outputs: ['s'] },
      { op: 'SequenceInsert', inputs: ['s', 'z', 'pos'], outputs: ['s1'] },
      { op: 'ConcatFromSequence', inputs: ['s1'], outputs: ['out'], attrs: { axis: 0 } },
      { op: 'SequenceLength', inputs: ['s1'], outputs: ['length'] },
    ],
  });
  const insertPositions = [-2, -1, 0, 1, 2];

  test('SequenceInsert of a tensor of the same shape: each element a Where among old[i], the tensor and old[i-1]', async () => {
    const shapes = [[2], [2], [2]];
    const { graph } = importOnnx(buildModel(insertThenConcat(shapes)), { file: 'insert.onnx' });
    expect(graph.nodes.some((n) => n.op === 'cond')).toBe(false);
    expect(graph.tensor('out').shape).toEqual([6]);
    const feeds = (p: number) => ({ ...xyzFeeds(shapes), pos: int64(p) });
    await checkAgainstOrt(
      insertThenConcat(shapes),
      [{ feeds: feeds(-1), expected: [[0, 1, 200, 201, 100, 101], [3]] }, ...insertPositions.map((p) => ({ feeds: feeds(p) }))],
      'insert.onnx',
    );
  });

  test('SequenceInsert of a tensor of another shape: conds, and the concatenated length unknown at import', async () => {
    const shapes = [[1, 2], [2, 2], [3, 2]];
    const { graph } = importOnnx(buildModel(insertThenConcat(shapes)), { file: 'insert.onnx' });
    expect(graph.tensor('out').shape).toEqual([null, 2]);
    await checkAgainstOrt(insertThenConcat(shapes), insertPositions.map((p) => ({ feeds: { ...xyzFeeds(shapes), pos: int64(p) } })), 'insert.onnx');
  });

  const eraseThenAt = (shapes: number[][]): ModelSpec => ({
    inputs: [...xyz(shapes), { name: 'pos', elemType: INT64, shape: [] }, { name: 'pick', elemType: INT64, shape: [] }],
    outputs: [{ name: 'out' }],
    nodes: [
      { op: 'SequenceConstruct', inputs: ['x', 'y', 'z'], outputs: ['s'] },
      { op: 'SequenceErase', inputs: ['s', 'pos'], outputs: ['s1'] },
      { op: 'SequenceAt', inputs: ['s1', 'pick'], outputs: ['out'] },
    ],
  });

  test.each([
    ['of one shape', [[2], [2], [2]]],
    ['of several shapes', [[1], [2], [3]]],
  ])('SequenceErase of elements %s, then SequenceAt at a run-time position', async (_, shapes) => {
    const runs = positions(3).flatMap((p) => [-2, -1, 0, 1].map((pick) => ({ feeds: { ...xyzFeeds(shapes), pos: int64(p), pick: int64(pick) } })));
    await checkAgainstOrt(eraseThenAt(shapes), runs, 'erase.onnx');
  });

  test('a position out of range at run time is a ShapeError naming the position check', async () => {
    const cases: [ModelSpec, Record<string, TensorValue>][] = [
      [at([[2], [2], [2]]), { ...xyzFeeds([[2], [2], [2]]), pos: int64(3) }],
      [at([[1], [2], [3]]), { ...xyzFeeds([[1], [2], [3]]), pos: int64(-4) }],
      [insertThenConcat([[2], [2], [2]]), { ...xyzFeeds([[2], [2], [2]]), pos: int64(3) }],
      // -3 is inside Gather's range over the 3 slots of an Insert into 2 elements, but not an Insert position
      [insertThenConcat([[2], [2], [2]]), { ...xyzFeeds([[2], [2], [2]]), pos: int64(-3) }],
      [eraseThenAt([[2], [2], [2]]), { ...xyzFeeds([[2], [2], [2]]), pos: int64(-4), pick: int64(0) }],
    ];
    for (const [spec, feeds] of cases) {
      const { graph } = importOnnx(buildModel(spec), { file: 'range.onnx' });
      const session = new Session(graph);
      await expect(session.run('out', feeds)).rejects.toThrow(ShapeError);
      await expect(session.run('out', feeds)).rejects.toThrow(/position/);
      session.close();
    }
  });
});

describe('what stays unsupported, and malformed sequence nodes', () => {
  const constructAnd = (nodes: ModelSpec['nodes'], extra: Partial<ModelSpec> = {}): ModelSpec => ({
    inputs: [{ name: 'x', shape: [2] }],
    outputs: [{ name: 'out' }],
    ...extra,
    nodes: [{ op: 'SequenceConstruct', inputs: ['x', 'x'], outputs: ['s'] }, ...nodes],
  });

  test('a sequence as a graph output or input', () => {
    const proto = modelProto(constructAnd([{ op: 'Identity', inputs: ['x'], outputs: ['out'] }]));
    proto.graph!.output = [{ name: 's', type: { sequenceType: { elemType: { tensorType: { elemType: 1 } } } } }];
    const asOutput = errorOf(() => importOnnx(encodeModel(proto), { file: 'out.onnx' }));
    expect(asOutput).toBeInstanceOf(UnsupportedOpError);
    expect(asOutput.message).toMatch(/'s' is a sequence.*graph output/);

    const input = modelProto({ inputs: [], outputs: [{ name: 'n', elemType: INT64 }], nodes: [{ op: 'SequenceLength', inputs: ['seq'], outputs: ['n'] }] });
    input.graph!.input = [{ name: 'seq', type: { sequenceType: { elemType: { tensorType: { elemType: 1 } } } } }];
    const asInput = errorOf(() => importOnnx(encodeModel(input), { file: 'in.onnx' }));
    expect(asInput).toBeInstanceOf(UnsupportedOpError);
    expect(asInput.message).toMatch(/input 'seq' is not a tensor/);
  });

  test('an ordinary op, a Loop or a run-time If given a sequence', () => {
    const relu = errorOf(() => importOnnx(buildModel(constructAnd([{ op: 'Relu', inputs: ['s'], outputs: ['out'] }])), { file: 'relu.onnx' }));
    expect(relu).toBeInstanceOf(UnsupportedOpError);
    expect(relu.message).toMatch(/node 'n1' \(Relu\): input 0 \('s'\) is a sequence/);

    const loopBody = subgraph({ nodes: [{ op: 'Identity', inputs: ['c'], outputs: ['c_out'] }, { op: 'Identity', inputs: ['s_in'], outputs: ['s_out'] }], outputs: [{ name: 'c_out' }, { name: 's_out' }] }, 'body');
    loopBody.input = [{ name: 'i' }, { name: 'c' }, { name: 's_in' }];
    const loop = constructAnd(
      [
        { op: 'Loop', inputs: ['n', '', 's'], outputs: ['s_final'], attrs: { body: { graph: loopBody } } },
        { op: 'ConcatFromSequence', inputs: ['s_final'], outputs: ['out'], attrs: { axis: 0 } },
      ],
      { inputs: [{ name: 'x', shape: [2] }, { name: 'n', elemType: INT64, shape: [] }] },
    );
    const loopError = errorOf(() => importOnnx(buildModel(loop), { file: 'loop.onnx' }));
    expect(loopError).toBeInstanceOf(UnsupportedOpError);
    expect(loopError.message).toMatch(/node 'n1' \(Loop\).*'s' is a sequence/);

    const branch = (name: string) => subgraph({ nodes: [{ op: 'SequenceConstruct', inputs: ['x'], outputs: [`${name}_s`] }], outputs: [{ name: `${name}_s` }] }, name);
    const ifSpec = constructAnd(
      [
        { op: 'If', inputs: ['c'], outputs: ['picked'], attrs: { then_branch: { graph: branch('then') }, else_branch: { graph: branch('else') } } },
        { op: 'ConcatFromSequence', inputs: ['picked'], outputs: ['out'], attrs: { axis: 0 } },
      ],
      { inputs: [{ name: 'x', shape: [2] }, { name: 'c', elemType: 9, shape: [] }] },
    );
    const ifError = errorOf(() => importOnnx(buildModel(ifSpec), { file: 'if.onnx' }));
    expect(ifError).toBeInstanceOf(UnsupportedOpError);
    expect(ifError.message).toMatch(/node 'n1' \(If\) then_branch: 'then_s' is a sequence/);
  });

  test('a number of pieces unknown at import', () => {
    const split = (inputs: ModelSpec['inputs'], splitInputs: string[]): ModelSpec => ({
      inputs,
      outputs: [{ name: 'n', elemType: INT64 }],
      nodes: [
        { op: 'SplitToSequence', inputs: splitInputs, outputs: ['s'] },
        { op: 'SequenceLength', inputs: ['s'], outputs: ['n'] },
      ],
    });
    const cases = [
      split([{ name: 'x', shape: ['batch', 2] }], ['x']),
      split([{ name: 'x', shape: [4] }, { name: 'chunk', elemType: INT64, shape: [] }], ['x', 'chunk']),
      split([{ name: 'x', shape: [4] }, { name: 'sizes', elemType: INT64, shape: ['k'] }], ['x', 'sizes']),
    ];
    for (const spec of cases) {
      const e = errorOf(() => importOnnx(buildModel(spec), { file: 'split.onnx' }));
      expect(e).toBeInstanceOf(UnsupportedOpError);
      expect(e.message).toMatch(/node 'n0' \(SplitToSequence\).*number of pieces/);
    }
  });

  test('malformed nodes are FormatErrors naming them: a position out of range at import, a tensor for a sequence, an empty concat', () => {
    const malformed: ModelSpec['nodes'][] = [
      [{ op: 'SequenceAt', inputs: ['s', 'two'], outputs: ['out'] }],
      [{ op: 'SequenceInsert', inputs: ['s', 'x', 'minus3'], outputs: ['s1'] }, { op: 'SequenceAt', inputs: ['s1', 'zero'], outputs: ['out'] }],
      [{ op: 'SequenceAt', inputs: ['x', 'zero'], outputs: ['out'] }],
      [{ op: 'SequenceEmpty', inputs: [], outputs: ['e'] }, { op: 'ConcatFromSequence', inputs: ['e'], outputs: ['out'], attrs: { axis: 0 } }],
    ];
    for (const nodes of malformed) {
      const spec = constructAnd(nodes, { initializers: { two: int64(2), zero: int64(0), minus3: int64(-3) } });
      const e = errorOf(() => importOnnx(buildModel(spec), { file: 'bad.onnx' }));
      expect(e).toBeInstanceOf(FormatError);
      expect(e).toBeInstanceOf(GraphcError);
      expect(e.message).toMatch(/bad\.onnx.*node 'n[12]' \((SequenceAt|SequenceInsert|ConcatFromSequence)\)/);
    }
  });
});
