import { Session, TensorValue, exportOnnx, importOnnx } from 'graphc';
import { compare, runInOrtBatch } from '../../scripts/conformance-harness';
import { ModelSpec, buildModel } from './onnx-builder';

/** One set of feeds for a model, with the values each output must have where the test states them. */
export interface OrtRun {
  feeds: Record<string, TensorValue>;
  /** Hand-computed values per output, where the test states them. */
  expected?: number[][];
}

const values = (t: TensorValue): number[] => Array.from(t.data as ArrayLike<number>);

/**
 * Imports `spec`, runs every feed set in graphc, then the original model and graphc's export of it
 * in onnxruntime: all three agree, and graphc gives the expected values.
 */
export async function checkAgainstOrt(spec: ModelSpec, runs: OrtRun[], file: string): Promise<void> {
  const bytes = buildModel(spec);
  const { graph, signature } = importOnnx(bytes, { file });
  const exported = exportOnnx(graph, { outputs: signature.outputs });
  const names = spec.outputs.map((o) => o.name);
  expect(signature.outputs).toEqual(names);
  const session = new Session(graph);
  const ours: TensorValue[][] = [];
  for (const r of runs) ours.push(await session.run(names, r.feeds));
  session.close();
  const replies = runInOrtBatch(runs.flatMap((r) => [bytes, exported].map((b) => ({ bytes: b, feeds: r.feeds, outputs: names }))));
  const problems: string[] = [];
  runs.forEach((r, k) => {
    if (r.expected) expect(ours[k].map(values)).toEqual(r.expected);
    ['original', 'exported'].forEach((which, j) => {
      const reply = replies[2 * k + j];
      if (reply instanceof Error) return problems.push(`run ${k}, ${which} model in onnxruntime: ${reply.message}`);
      names.forEach((o, i) => {
        const problem = compare(reply[i], ours[k][i]);
        if (problem) problems.push(`run ${k}, output '${o}': graphc gives ${problem} (onnxruntime on the ${which} model)`);
      });
    });
  });
  expect(problems).toEqual([]);
}
