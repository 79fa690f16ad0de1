import * as fs from 'fs';
import * as path from 'path';
import { DType, FormatError, TensorValue, allocArray, sizeOf, tensorsFromJson } from '@graphc/graph';
import { UsageError } from '../cli-error';
import { RawArray, readIdx } from './idx';

/**
 * A dataset: named fields of equal example count (the first dimension of each). Loaded from
 *
 * - a folder in the MNIST layout (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`,
 *   `t10k-...` for the test split): fields `images` and `labels`;
 * - a JSON tensors file (API.md's format): one field per entry;
 * - `FIELD=FILE` bindings of single IDX or JSON files.
 */
export interface Dataset {
  count: number;
  fields: Map<string, RawArray>;
  /** Where it came from, for messages. */
  source: string;
}

const MNIST_FILES: Record<'train' | 'test', Record<string, string>> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

function findMnistFile(dir: string, base: string): string | undefined {
  for (const name of [base, `${base}.gz`]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Whether `dir` holds the MNIST-layout files of `split`. */
export function hasMnistSplit(dir: string, split: 'train' | 'test'): boolean {
  return fs.existsSync(dir) && fs.statSync(dir).isDirectory() && Object.values(MNIST_FILES[split]).every((b) => findMnistFile(dir, b));
}

/** Loads `--data`/`--test` arguments (one folder or JSON file, or FIELD=FILE bindings). */
export function loadDataset(specs: string[], split: 'train' | 'test'): Dataset {
  const fields = new Map<string, RawArray>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq > 0) {
      const field = spec.slice(0, eq);
      const file = spec.slice(eq + 1);
      fields.set(field, readArrayFile(file, field));
      continue;
    }
    if (!fs.existsSync(spec)) throw new UsageError(`data '${spec}' does not exist`);
    if (fs.statSync(spec).isDirectory()) {
      if (!hasMnistSplit(spec, split)) {
        const wanted = Object.values(MNIST_FILES[split]).join(' and ');
        throw new UsageError(`data folder '${spec}' lacks ${wanted} (optionally .gz): expected the MNIST file layout`);
      }
      for (const [field, base] of Object.entries(MNIST_FILES[split])) fields.set(field, readIdx(findMnistFile(spec, base)!));
    } else if (spec.toLowerCase().endsWith('.json')) {
      for (const [name, t] of readJsonTensors(spec)) fields.set(name, t);
    } else {
      throw new UsageError(`data '${spec}': expected a folder of IDX files, a .json tensors file, or FIELD=FILE`);
    }
  }
  if (fields.size === 0) throw new UsageError('no data given');
  const counts = [...fields].map(([name, a]) => [name, a.shape[0] ?? 1] as const);
  const count = counts[0][1];
  const bad = counts.find(([, c]) => c !== count);
  if (bad) throw new FormatError(`data fields have different example counts: ${counts.map(([n, c]) => `${n} ${c}`).join(', ')}`);
  return { count, fields, source: specs.join(' ') };
}

function readArrayFile(file: string, field: string): RawArray {
  if (file.toLowerCase().endsWith('.json')) {
    const tensors = readJsonTensors(file);
    const t = tensors.get(field) ?? (tensors.size === 1 ? [...tensors.values()][0] : undefined);
    if (!t) throw new FormatError(`data file '${file}' has no tensor '${field}'`);
    return t;
  }
  return readIdx(file);
}

function readJsonTensors(file: string): Map<string, TensorValue> {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FormatError(`data file '${file}' cannot be read as JSON: ${(e as Error).message}`);
  }
  return tensorsFromJson(doc, `data file '${file}'`);
}

/** The first `limit` examples (a view; no copy). */
export function limitDataset(ds: Dataset, limit: number | undefined): Dataset {
  if (limit === undefined || limit >= ds.count) return ds;
  const fields = new Map<string, RawArray>();
  for (const [name, a] of ds.fields) {
    const per = sizeOf(a.shape.slice(1));
    fields.set(name, { shape: [limit, ...a.shape.slice(1)], data: a.data.subarray(0, limit * per) as RawArray['data'] });
  }
  return { ...ds, count: limit, fields };
}

/**
 * A batch of `field` for the examples `indices`, as `dtype` with per-example shape `exampleShape`
 * (which must hold as many values as the stored example: [28, 28] pixels feed a [784] input).
 */
export function gatherBatch(array: RawArray, indices: ArrayLike<number>, dtype: DType, exampleShape: number[], what: string): TensorValue {
  const per = sizeOf(array.shape.slice(1));
  if (sizeOf(exampleShape) !== per) {
    throw new FormatError(`${what}: an example has ${per} values ([${array.shape.slice(1).join(', ')}]), the input needs ${sizeOf(exampleShape)} ([${exampleShape.join(', ')}])`);
  }
  const n = indices.length;
  const out = allocArray(dtype, n * per);
  const src = array.data;
  for (let i = 0; i < n; i++) {
    const from = indices[i] * per;
    const to = i * per;
    for (let j = 0; j < per; j++) out[to + j] = src[from + j];
  }
  return { dtype, shape: [n, ...exampleShape], data: out };
}
