/** Hand-built ONNX models checked against onnxruntime running the same bytes (the import tests' oracle). */
import { Session, TensorValue, encodeModel, importOnnx, onnx, tensor } from 'graphc';
import { compare, runInOrt } from '../../scripts/conformance-harness';
import { ModelSpec, modelProto } from './onnx-builder';

/** A model; initializers written as TensorProtos (for types graphc has no tensors of); more domains to import. */
export type OrtSpec = ModelSpec & { rawInitializers?: onnx.ITensorProto[]; domains?: string[] };

/** The model's bytes, stamped with the IR version its opset came with (onnxruntime checks the pair). */
export function ortSpecBytes(spec: OrtSpec): Uint8Array {
  const proto = modelProto(spec);
  const opset = spec.opset ?? 17;
  proto.irVersion = opset >= 25 ? 12 : opset >= 23 ? 11 : opset >= 21 ? 10 : 9;
  for (const domain of spec.domains ?? []) proto.opsetImport!.push({ domain, version: 1 });
  proto.graph!.initializer!.push(...(spec.rawInitializers ?? []));
  return encodeModel(proto);
}

/** A seeded LCG's draws, as values in [0, 1). */
function draws(count: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: count }, () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

/** Seeded float32 values in [-2, 2). */
export function seededValues(shape: number[], seed: number): TensorValue {
  return tensor(
    draws(shape.reduce((p, d) => p * d, 1), seed).map((u) => u * 4 - 2),
    shape,
  );
}

/** Seeded bytes in [0, 256). */
export function seededBytes(count: number, seed: number): number[] {
  return draws(count, seed).map((u) => Math.floor(u * 256));
}

/**
 * Runs the model in graphc on each of `backends` and in onnxruntime on `feeds`; every output must
 * agree within ONNX's tolerance. Returns the first backend's outputs.
 */
export async function agreeWithOrt(spec: OrtSpec, feeds: Record<string, TensorValue>, backends: ('cpu' | 'webgpu')[] = ['cpu']): Promise<TensorValue[]> {
  const bytes = ortSpecBytes(spec);
  const { graph, signature } = importOnnx(bytes, { file: 'model.onnx' });
  const theirs = await runInOrt(bytes, feeds, spec.outputs.map((o) => o.name));
  const results: TensorValue[][] = [];
  for (const backend of backends) {
    const ours = await new Session(graph, { backend }).run(signature.outputs, feeds);
    ours.forEach((t, i) => {
      const problem = compare(t, theirs[i]);
      if (problem) throw new Error(`${backend}: output ${spec.outputs[i].name}: ${problem}`);
    });
    results.push(ours);
  }
  return results[0];
}
