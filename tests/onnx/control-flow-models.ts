/** ONNX models with control flow (If, Scan), shared by the import tests and the ONNX fuzzer's corpus. */
import { tensor } from 'graphc';
import { ModelSpec, buildModel, subgraph } from './onnx-builder';

/** y = If(batch == 2) { relu(x) * scale } else { x - 1 }, the batch size read from x's shape. */
export function shapeIf(batch: number | string): ModelSpec {
  return {
    inputs: [{ name: 'x', shape: [batch, 3] }],
    outputs: [{ name: 'y' }],
    initializers: { zero: tensor([0], [], 'int64'), two: tensor([2], [], 'int64') },
    nodes: [
      // the If comes first: its branches read 'scale' and 'x', defined by later nodes and inputs
      {
        op: 'If',
        inputs: ['is2'],
        outputs: ['y'],
        attrs: {
          then_branch: {
            graph: subgraph(
              {
                outputs: [{ name: 'scaled' }],
                initializers: { inner: tensor([10], []) },
                nodes: [
                  { op: 'Relu', inputs: ['x'], outputs: ['r'] },
                  { op: 'Mul', inputs: ['r', 'scale'], outputs: ['s'] },
                  { op: 'Add', inputs: ['s', 'inner'], outputs: ['scaled'] },
                ],
              },
              'then',
            ),
          },
          else_branch: { graph: subgraph({ outputs: [{ name: 'minus' }], nodes: [{ op: 'Sub', inputs: ['x', 'one'], outputs: ['minus'] }] }, 'else') },
        },
      },
      { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
      { op: 'Gather', inputs: ['shape', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
      { op: 'Equal', inputs: ['n', 'two'], outputs: ['is2'] },
      { op: 'Constant', inputs: [], outputs: ['scale'], attrs: { value: tensor([3], []) } },
      { op: 'Constant', inputs: [], outputs: ['one'], attrs: { value: tensor([1], []) } },
    ],
  };
}

/** state s (shape [2]) accumulates each step's row; the scan output is s after each step, times k. */
export function cumulativeScan(opts: { xShape: (number | string)[]; axis?: number; inDir?: number; outAxis?: number; outDir?: number }): Uint8Array {
  return buildModel({
    inputs: [
      { name: 'init', shape: [2] },
      { name: 'x', shape: opts.xShape },
    ],
    outputs: [{ name: 'final' }, { name: 'trace' }],
    nodes: [
      {
        op: 'Scan',
        inputs: ['init', 'x'],
        outputs: ['final', 'trace'],
        attrs: {
          num_scan_inputs: 1,
          scan_input_axes: [opts.axis ?? 0],
          scan_input_directions: [opts.inDir ?? 0],
          scan_output_axes: [opts.outAxis ?? 0],
          scan_output_directions: [opts.outDir ?? 0],
          body: {
            graph: {
              ...subgraph(
                {
                  outputs: [{ name: 's_out' }, { name: 'scaled' }],
                  initializers: { k: tensor([10], []) },
                  nodes: [
                    { op: 'Add', inputs: ['s_in', 'row'], outputs: ['s_out'] },
                    { op: 'Mul', inputs: ['s_out', 'k'], outputs: ['scaled'] },
                  ],
                },
                'body',
              ),
              input: [
                { name: 's_in', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } },
                { name: 'row', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } },
              ],
            },
          },
        },
      },
    ],
    opset: 16,
  });
}
