import type { NodeTiming } from '@graphc/runtime';

/** Kernel time of one op (all its nodes) or one node, per profiled run. */
export interface ProfileRow {
  name: string;
  op: string;
  nodes: number;
  msPerRun: number;
  /** Share of all kernel time. */
  percent: number;
}

/** Per-op totals and the slowest `top` nodes, per run, from a session's profile over `runs` runs. */
export function summarizeProfile(timings: NodeTiming[], runs: number, top: number): { byOp: ProfileRow[]; byNode: ProfileRow[]; kernelMsPerRun: number } {
  const total = timings.reduce((sum, t) => sum + t.ms, 0);
  const row = (name: string, op: string, nodes: number, ms: number): ProfileRow => ({ name, op, nodes, msPerRun: ms / runs, percent: total > 0 ? (100 * ms) / total : 0 });
  const ops = new Map<string, { ms: number; nodes: number }>();
  for (const t of timings) {
    const o = ops.get(t.op) ?? { ms: 0, nodes: 0 };
    o.ms += t.ms;
    o.nodes++;
    ops.set(t.op, o);
  }
  return {
    byOp: [...ops].map(([op, o]) => row(op, op, o.nodes, o.ms)).sort((a, b) => b.msPerRun - a.msPerRun),
    byNode: timings.slice(0, top).map((t) => row(t.node, t.op, 1, t.ms)),
    kernelMsPerRun: total / runs,
  };
}

/** The summary as two aligned text tables. */
export function formatProfile(summary: ReturnType<typeof summarizeProfile>, runs: number): string {
  // names (the first `text` columns) to the left, figures to the right
  const table = (head: string[], text: number, rows: string[][]): string[] => {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => (i < text ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`;
    return [line(head), ...rows.map(line)];
  };
  const ms = (x: number) => x.toFixed(3);
  const pct = (x: number) => `${x.toFixed(1)}%`;
  return [
    `kernel time per run: ${ms(summary.kernelMsPerRun)} ms (profiled over ${runs} runs)`,
    'by op:',
    ...table(['op', 'nodes', 'ms/run', 'share'], 1, summary.byOp.map((r) => [r.op, String(r.nodes), ms(r.msPerRun), pct(r.percent)])),
    'slowest nodes:',
    ...table(['node', 'op', 'ms/run', 'share'], 2, summary.byNode.map((r) => [r.name, r.op, ms(r.msPerRun), pct(r.percent)])),
    '',
  ].join('\n');
}
