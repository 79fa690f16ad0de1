import * as fs from 'fs';
import { FormatError, TensorValue, tensorToJson, tensorsFromJson, writeFileAtomic } from '@graphc/graph';

/** Reads a feeds file of API.md's JSON tensor format. */
export function readFeedsFile(file: string): Map<string, TensorValue> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new FormatError(`feeds file '${file}' cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`feeds file '${file}' is not valid JSON: ${(e as Error).message}`);
  }
  return tensorsFromJson(doc, `feeds file '${file}'`);
}

/** Outputs as API.md's JSON, to a file (atomically) or stdout. */
export function writeOutputs(outputs: Map<string, TensorValue>, file?: string): void {
  const doc = Object.fromEntries([...outputs].map(([k, v]) => [k, tensorToJson(v)]));
  const text = `${JSON.stringify(doc)}\n`;
  if (file) writeFileAtomic(file, text);
  else process.stdout.write(text);
}
