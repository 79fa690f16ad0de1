import { Graph, ops } from 'graphc';
import { Rebuild } from '@graphc/passes';

/** Rebuild copies a pass's nodes; a copy re-infers its outputs only where its inputs' types changed. */
describe('Rebuild', () => {
  test('a copy whose inputs kept their types keeps the source outputs; one whose input became more specific infers again', () => {
    const g = new Graph();
    const x = g.placeholder('float32', [null, 4], 'x');
    const y = ops.relu(ops.mul(x, 2));
    const z = ops.reduceSum(y, [1]);
    const rb = new Rebuild(g);
    // a pass that learned x's batch: x stands as [3, 4] from here on
    rb.replace(x.node, [rb.target.placeholder('float32', [3, 4], 'x')]);
    for (const n of g.nodes.slice(1)) rb.copy(n);
    const out = rb.finish();
    expect(out.tensor(y.name).shape).toEqual([3, 4]);
    expect(out.tensor(z.name).shape).toEqual([3]);

    const same = new Rebuild(g);
    for (const n of g.nodes) same.copy(n);
    const copied = same.finish();
    expect(copied.node(z.node.name).outputs).toBe(z.node.outputs);
    // a changed attr infers again
    const other = new Rebuild(g);
    for (const n of g.nodes) n === z.node ? other.copy(n, { attrs: { ...n.attrs, keepDims: true } }) : other.copy(n);
    expect(other.finish().tensor(z.name).shape).toEqual([null, 1]);
  });
});
