import { reachableNodes } from '@graphc/graph';
import { Rebuild } from '../rebuild';
import type { GraphPass } from './pass';

/**
 * Dead code elimination: keeps what the kept nodes need through data and control edges. Everything
 * else (unused outputs, computations whose results nobody reads, stray initializers) goes.
 */
export const prunePass: GraphPass = {
  name: 'prune',
  run(graph, ctx) {
    const roots = [...ctx.keep].filter((n) => graph.hasNode(n)).map((n) => graph.node(n));
    const live = reachableNodes(graph, roots);
    if (live.length === graph.nodes.length) return { graph, stats: { removed: 0 } };
    const rb = new Rebuild(graph);
    for (const n of live) rb.copy(n);
    return { graph: rb.finish(), stats: { removed: graph.nodes.length - live.length } };
  },
};
