import { ShapeError } from '../../errors';
import { SymbolicTensor, TensorLike, graphOf, toSymbolic } from '../../graph';
import type { InferContext } from '../../opdef';
import { registerOp } from '../../registry';
import { Shape } from '../../shape';
import { applyOp } from '../builder';
import { sameDType } from '../infer-helpers';

export interface EinsumSpec {
  inputs: string[];
  output: string;
}

/**
 * Parses an einsum equation ('ij,jk->ik', 'bii->bi', '...ij,...jk'): one label string per input
 * and the output's, with '...' kept as the single label '*' (broadcast dimensions). An implicit
 * output is the labels that occur once, sorted, after any '...'.
 */
export function parseEinsum(equation: string, ranks: number[], where = ''): EinsumSpec {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  if (terms.length !== ranks.length || !/^[A-Za-z.,>-]*$/.test(eq)) {
    throw new ShapeError(`${where}einsum equation '${equation}' does not fit ${ranks.length} inputs`);
  }
  const norm = (t: string): string => {
    if (t.split('...').length > 2) throw new ShapeError(`${where}einsum term '${t}' has more than one '...'`);
    const s = t.replace('...', '*');
    if (/\./.test(s)) throw new ShapeError(`${where}einsum term '${t}' has a stray '.'`);
    return s;
  };
  const inputs = terms.map(norm);
  inputs.forEach((t, i) => {
    const letters = t.replace('*', '').length;
    if (t.includes('*') ? letters > ranks[i] : letters !== ranks[i]) {
      throw new ShapeError(`${where}einsum term '${terms[i]}' does not fit input ${i} of rank ${ranks[i]}`);
    }
  });
  let output: string;
  if (rhs !== undefined) output = norm(rhs);
  else {
    const counts = new Map<string, number>();
    for (const t of inputs) for (const ch of t.replace('*', '')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    const once = [...counts].filter(([, n]) => n === 1).map(([ch]) => ch).sort();
    output = (inputs.some((t) => t.includes('*')) ? '*' : '') + once.join('');
  }
  for (const ch of output.replace('*', '')) {
    if (!inputs.some((t) => t.includes(ch))) throw new ShapeError(`${where}einsum output label '${ch}' is in no input`);
  }
  return { inputs, output };
}

/** The size of each label (and the broadcast '*' dims) across inputs, checked for agreement. */
export function einsumDims(spec: EinsumSpec, shapes: Shape[], where = ''): { labels: Map<string, number | null>; ellipsis: Shape } {
  const labels = new Map<string, number | null>();
  let ellipsis: Shape = [];
  spec.inputs.forEach((t, i) => {
    const shape = shapes[i];
    const star = t.indexOf('*');
    const ellRank = shape.length - (t.length - (star >= 0 ? 1 : 0));
    let d = 0;
    for (const ch of t) {
      if (ch === '*') {
        const part = shape.slice(d, d + ellRank);
        // broadcast the ellipsis parts of the inputs against each other
        const rank = Math.max(part.length, ellipsis.length);
        const merged: Shape = [];
        for (let k = 0; k < rank; k++) {
          const a = k < rank - part.length ? 1 : part[k - (rank - part.length)];
          const b = k < rank - ellipsis.length ? 1 : ellipsis[k - (rank - ellipsis.length)];
          merged.push(a === 1 ? b : b === 1 ? a : a ?? b);
        }
        ellipsis = merged;
        d += ellRank;
        continue;
      }
      const size = shape[d++];
      const prev = labels.get(ch);
      if (prev !== undefined && prev !== null && size !== null && prev !== size && prev !== 1 && size !== 1) {
        throw new ShapeError(`${where}einsum label '${ch}' is ${prev} in one place and ${size} in another`);
      }
      labels.set(ch, prev === undefined || prev === 1 || prev === null ? size : prev);
    }
  });
  return { labels, ellipsis };
}

function inferEinsum(ctx: InferContext) {
  const dtype = sameDType(ctx);
  const spec = parseEinsum(String(ctx.attrs.equation), ctx.inputs.map((i) => i.shape.length), ctx.where);
  const { labels, ellipsis } = einsumDims(spec, ctx.inputs.map((i) => i.shape), ctx.where);
  const shape: Shape = [];
  for (const ch of spec.output) {
    if (ch === '*') shape.push(...ellipsis);
    else shape.push(labels.get(ch) ?? null);
  }
  return [{ dtype, shape }];
}

/** einsum(equation, ...inputs): sums of products over the labels the output drops (numpy einsum). */
registerOp({ name: 'einsum', family: 'math', numInputs: 'variadic', infer: inferEinsum });

/**
 * How a kernel loops over an einsum with concrete input shapes: every label, output labels first
 * then summed ones, with its size, and per input the element stride of each label. Broadcast '...'
 * dimensions become labels of their own (characters no equation uses); a label repeated within an
 * input adds its strides (a diagonal); a size-1 dimension broadcasts (stride 0). Every backend's
 * einsum kernel starts here, so they agree on the labels.
 */
export interface EinsumLoops {
  labels: string[];
  dims: number[];
  outLabels: string[];
  sumLabels: string[];
  /** Per input, per label: the element stride (0 where the input lacks the label or broadcasts it). */
  strides: number[][];
  /** Per input, the label of each dimension. */
  terms: string[][];
}

export function einsumLoops(equation: string, shapes: number[][]): EinsumLoops {
  const spec = parseEinsum(equation, shapes.map((s) => s.length));
  const { ellipsis } = einsumDims(spec, shapes);
  const ell = ellipsis.map((_, i) => String.fromCharCode(0x100 + i));
  const expand = (term: string, rank: number): string[] => {
    const star = term.indexOf('*');
    if (star < 0) return [...term];
    const n = rank - (term.length - 1);
    return [...term.slice(0, star), ...ell.slice(ell.length - n), ...term.slice(star + 1)];
  };
  const terms = spec.inputs.map((t, i) => expand(t, shapes[i].length));
  const outLabels = expand(spec.output, spec.output.replace('*', '').length + ell.length);
  const size = new Map<string, number>();
  terms.forEach((t, i) => t.forEach((ch, d) => size.set(ch, Math.max(size.get(ch) ?? 1, shapes[i][d]))));
  const sumLabels = [...size.keys()].filter((ch) => !outLabels.includes(ch));
  const labels = [...outLabels, ...sumLabels];
  const strides = shapes.map((shape, i) => {
    const own = shape.map((_, d) => shape.slice(d + 1).reduce((p, n) => p * n, 1));
    return labels.map((ch) => terms[i].reduce((st, c, d) => (c === ch && shape[d] !== 1 ? st + own[d] : st), 0));
  });
  return { labels, dims: labels.map((ch) => size.get(ch)!), outLabels, sumLabels, strides, terms };
}

/**
 * ```ts
 * ops.einsum('ij,jk->ik', a, b);   // matmul
 * ops.einsum('ii->i', m);          // diagonal
 * ```
 */
export function einsum(equation: string, ...inputs: TensorLike[]): SymbolicTensor {
  const g = graphOf(inputs);
  return applyOp('einsum', inputs.map((x) => toSymbolic(g, x)), { equation }, undefined, g).output(0);
}
