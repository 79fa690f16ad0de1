import { Graph, Session, ops, tensor } from 'graphc';

test('matmul + bias + relu on the cpu', async () => {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 2], 'x');
  const W = g.variable(tensor([1, -1, 2, 0.5], [2, 2]), 'W');
  const y = ops.relu(ops.add(ops.matmul(x, W), 1));
  const sess = new Session(g);
  await sess.run(g.globalVariablesInitializer());
  const out = await sess.run(y, { x: tensor([1, 2, 3, 4], [2, 2]) });
  expect(out.shape).toEqual([2, 2]);
  expect(Array.from(out.data)).toEqual([6, 1, 12, 0]);
});
