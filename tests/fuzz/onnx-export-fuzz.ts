/**
 * Differential fuzzer of the ONNX exporter: the passes fuzzer's seeded random graphs (smooth cases:
 * elementwise chains, broadcasting, dense and conv blocks, pools, reductions, softmax, transposes,
 * slices, pads, gathers, conds and loops, variables read at their initial values) are exported with
 * exportOnnx and run in onnxruntime, and imported back into graphc and run; the graph as `graphc
 * optimize` leaves it at O2 (fused programs and epilogues, folded constants) is exported and run in
 * onnxruntime too; all must give the cpu backend's outputs within float tolerance. A graph that updates a variable has no ONNX form (ONNX
 * has no state): the exporter refuses it, typed, and the case counts as refused.
 *
 *   node tests/fuzz/run.js --suite onnx-export --count 500     # `--seed N --count 1` reproduces one
 */
import { Session, TensorValue, UnsupportedOpError, exportOnnx, importOnnx } from 'graphc';
import { runInOrtBatch } from '../../scripts/conformance-harness';
import { buildCase, compareValues, optimizedModel, referenceOutputs } from './passes-fuzz';

export const outcomes = { compared: 0, skipped: 0, refused: 0 };

export async function runCase(seed: number): Promise<{ seed: number; ok: boolean; detail?: string }> {
  const c = buildCase(seed, { smooth: true });
  const where = `seed ${seed} [${c.description.join(', ')}]`;
  const names = c.fetches.map((f) => f.name);
  if (c.targets.length) {
    outcomes.refused++;
    return { seed, ok: true, detail: 'refused: the graph updates a variable' };
  }
  const reference = await referenceOutputs(c);
  if (!Array.isArray(reference)) {
    outcomes.skipped++;
    return { seed, ok: true, detail: `skipped: ${reference.skipped}` };
  }
  let bytes: Uint8Array;
  try {
    bytes = exportOnnx(c.graph, { outputs: names });
  } catch (e) {
    // an op with no ONNX form (an in-place update read in the graph) is refused by name
    if (e instanceof UnsupportedOpError) {
      outcomes.refused++;
      return { seed, ok: true, detail: `refused: ${e.message}` };
    }
    return { seed, ok: false, detail: `${where}: export failed: ${(e as Error).message}` };
  }
  let back: TensorValue[];
  // the export's inputs: the placeholders the outputs depend on
  let feeds: Record<string, TensorValue>;
  try {
    const imported = importOnnx(bytes, { file: `seed-${seed}.onnx` });
    feeds = Object.fromEntries(imported.signature.inputs.map((name) => [name, c.feeds[name]]));
    const again = new Session(imported.graph);
    // the signature names the outputs in order ('while:1' imports as 'while_1': ':' picks an output in graphc)
    back = await again.run(imported.signature.outputs, feeds);
    again.close();
  } catch (e) {
    return { seed, ok: false, detail: `${where}: the export does not import back: ${(e as Error).message}` };
  }
  // and the graph as `graphc optimize` leaves it (fused programs, folded constants) exported too
  let optimized: { bytes: Uint8Array; feeds: Record<string, TensorValue> };
  try {
    const optBytes = exportOnnx(optimizedModel(c, 2), { outputs: names });
    const inputs = importOnnx(optBytes, { file: `seed-${seed}-O2.onnx` }).signature.inputs;
    optimized = { bytes: optBytes, feeds: Object.fromEntries(inputs.map((name) => [name, c.feeds[name]])) };
  } catch (e) {
    return { seed, ok: false, detail: `${where}: the O2-optimized graph does not export: ${(e as Error).message}` };
  }
  const [ort, ortO2] = runInOrtBatch([
    { bytes, feeds, outputs: names },
    { bytes: optimized.bytes, feeds: optimized.feeds, outputs: names },
  ]);
  if (ort instanceof Error) return { seed, ok: false, detail: `${where}: onnxruntime cannot run the export: ${ort.message}` };
  if (ortO2 instanceof Error) return { seed, ok: false, detail: `${where}: onnxruntime cannot run the O2 export: ${ortO2.message}` };
  outcomes.compared++;
  for (let i = 0; i < names.length; i++) {
    const viaOrt = compareValues(ort[i], reference[i]);
    if (viaOrt) return { seed, ok: false, detail: `${where}: onnxruntime, output ${names[i]}: ${viaOrt}` };
    const viaImport = compareValues(back[i], reference[i]);
    if (viaImport) return { seed, ok: false, detail: `${where}: imported back, output ${names[i]}: ${viaImport}` };
    const viaO2 = compareValues(ortO2[i], reference[i]);
    if (viaO2) return { seed, ok: false, detail: `${where}: onnxruntime on the O2 export, output ${names[i]}: ${viaO2}` };
  }
  return { seed, ok: true };
}
