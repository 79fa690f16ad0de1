/**
 * model.json fuzzer (`node tests/fuzz/run.js --suite model`): mutates the examples of models/ as
 * JSON documents (ops, attrs, inputs, outputs, names, signature, variables, weights manifest) and
 * as text (truncation, spliced bytes), then loads each and, when it loads, initializes its variables
 * and runs its outputs on small synthetic feeds. Every outcome must be success or a GraphcError: any
 * other exception, or a case over 10 s, is a failure. Weights files are read from the models' own
 * folders, never written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LoadedModel, Session, TensorValue, allocArray, initializeFromModel, isFloat, parseModelJson, registeredOps } from 'graphc';
import { rng as mulberry32 } from './passes-fuzz';
import { CaseResult, typedOutcome } from './typed-outcome';

const MODELS = path.resolve(__dirname, '../../models');

/** The passes fuzzer's generator (mulberry32), with integer and pick helpers. */
function rng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T } {
  const next = mulberry32(seed);
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}
type Rng = ReturnType<typeof rng>;

interface Source {
  name: string;
  folder: string;
  text: string;
}

let corpus: Source[] | undefined;
function sources(): Source[] {
  corpus ??= ['mlp', 'fashion-mlp', 'fashion-cnn', 'resnet20', 'greedy-decoder'].map((m) => ({
    name: m,
    folder: path.join(MODELS, m),
    text: fs.readFileSync(path.join(MODELS, m, 'model.json'), 'utf8'),
  }));
  return corpus;
}

/** Values a hostile or broken file might hold where a well-formed one has something sensible. */
const WEIRD: unknown[] = [null, -1, 0, 1e12, 2 ** 53, -(2 ** 31), 1.5, 'x', '', true, [], [-1], [1e9, 1e9], {}, { $tensor: 'nope' }, [[1]], '../../etc/passwd'];

/** A fresh copy of one of `xs`: the documents are mutated further, and the lists are shared. */
const pickFresh = (r: Rng, xs: readonly unknown[]): unknown => structuredClone(r.pick(xs));
const weird = (r: Rng): unknown => pickFresh(r, WEIRD);

type Json = Record<string, unknown>;
const asObj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const asArr = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);

/** One structural edit of a parsed model document, described. */
function mutateDoc(doc: Json, r: Rng, ops: string[]): string {
  const nodes = asArr(doc.nodes) ?? [];
  const node = nodes.length ? asObj(r.pick(nodes)) : undefined;
  const names = nodes.map((n) => asObj(n)?.name).filter((n): n is string => typeof n === 'string');
  const weights = asObj(doc.weights);
  const entries = asArr(weights?.entries) ?? [];
  // a graph function (a whileLoop body, a cond branch) is a node list of its own: edit inside it, as in the document
  const bodies = nodes.flatMap((n) => Object.values(asObj(asObj(n)?.attrs) ?? {}).map(asObj).filter((a): a is Json => Array.isArray(a?.nodes)));
  if (bodies.length && r.next() < 0.5) return `in a function body: ${mutateDoc(r.pick(bodies), r, ops)}`;
  switch (r.int(14)) {
    case 0:
      if (node) node.op = r.pick([...ops, 'nope', 7, null]);
      return `node '${String(node?.name)}' op -> ${String(node?.op)}`;
    case 1: {
      const attrs = asObj(node?.attrs);
      if (!node || !attrs) return 'no attrs';
      const keys = Object.keys(attrs);
      const key = keys.length && r.next() < 0.7 ? r.pick(keys) : r.pick(['axis', 'axes', 'shape', 'perm', 'rate', 'value', 'dtype', 'strides', 'padding', 'keepDims', 'begin', 'size']);
      attrs[key] = weird(r);
      return `node '${String(node.name)}' attr ${key} -> ${JSON.stringify(attrs[key])}`;
    }
    case 2: {
      const inputs = asArr(node?.inputs);
      if (!node || !inputs || !inputs.length) return 'no inputs';
      inputs[r.int(inputs.length)] = r.pick([...names, `${r.pick(names)}:7`, 'missing', String(node.name), 5, null]);
      return `node '${String(node.name)}' input rewired`;
    }
    case 3:
      if (node) node.inputs = r.pick([null, 'x', [], [...(asArr(node.inputs) ?? []), r.pick(names)]]);
      return `node '${String(node?.name)}' inputs list replaced`;
    case 4: {
      const outs = asArr(node?.outputs);
      const o = outs?.length ? asObj(outs[0]) : undefined;
      if (o) o[r.pick(['dtype', 'shape'])] = pickFresh(r, [...WEIRD, 'float64', 'int64', 'bool', [2, 2]]);
      return `node '${String(node?.name)}' declared output changed`;
    }
    case 5:
      if (nodes.length) nodes.splice(r.int(nodes.length), 1);
      return 'node dropped';
    case 6:
      if (nodes.length) nodes.splice(r.int(nodes.length + 1), 0, JSON.parse(JSON.stringify(r.pick(nodes))));
      return 'node duplicated';
    case 7:
      if (node) node[r.pick(['name', 'control', 'attrs'])] = pickFresh(r, [...WEIRD, [r.pick(names)], ['missing']]);
      return `node '${String(node?.name)}' name/control/attrs replaced`;
    case 8: {
      const e = entries.length ? asObj(r.pick(entries)) : undefined;
      const key = r.pick(['offset', 'byteLength', 'dtype', 'shape', 'sha256', 'name', 'kind']);
      if (e) e[key] = pickFresh(r, [...WEIRD, 'float64', 'int64', 'variable']);
      return `weights entry ${key} changed`;
    }
    case 9:
      if (weights) weights[r.pick(['file', 'byteLength', 'entries'])] = pickFresh(r, [...WEIRD, 'model.json', '/etc/hostname', 'model.weights.bin']);
      return 'weights manifest changed';
    case 10:
      doc.signature = r.pick([null, 'x', { inputs: ['missing'], outputs: names.slice(-1) }, { inputs: [], outputs: ['missing:3'] }, { inputs: 5, outputs: {} }, { outputs: [r.pick(names)] }]);
      return `signature -> ${JSON.stringify(doc.signature)}`;
    case 11:
      doc.variables = r.pick([null, 'x', [null], [{ name: 'missing', initializer: r.pick(names) }], [{ name: r.pick(names), initializer: r.pick(names) }], [{}]]);
      return 'variables replaced';
    case 12:
      doc[r.pick(['format', 'version', 'nodes', 'metadata', 'weights'])] = pickFresh(r, [...WEIRD, 'graphc-model', 2]);
      return 'top-level field replaced';
    default:
      if (nodes.length > 1) {
        // a cycle: the first node with inputs reads the last node
        const first = nodes.map(asObj).find((n) => (asArr(n?.inputs) ?? []).length > 0);
        const last = asObj(nodes[nodes.length - 1]);
        if (first && last) (first.inputs as unknown[])[0] = last.name;
      }
      return 'cycle';
  }
}

function mutateText(text: string, r: Rng): [string, string] {
  const at = r.int(text.length);
  switch (r.int(3)) {
    case 0:
      return [text.slice(0, at), `truncated at ${at}`];
    case 1:
      return [text.slice(0, at) + r.pick(['{', '}', ']', '"', ',', 'null', '1e999', '\u0000']) + text.slice(at), `byte spliced at ${at}`];
    default:
      return [text.slice(0, at) + text.slice(at + 1 + r.int(40)), `bytes deleted at ${at}`];
  }
}

/** Synthetic feeds for the model's declared inputs (unknown dims 2), or undefined if one is too large. */
function feedsFor(model: LoadedModel, r: Rng): Record<string, TensorValue> | undefined {
  const feeds: Record<string, TensorValue> = {};
  for (const p of model.graph.placeholders()) {
    const shape = p.shape.map((d) => (d === null ? 2 : d));
    const size = shape.reduce((a, d) => a * d, 1);
    if (size > 200000) return undefined;
    const data = allocArray(p.dtype, size);
    for (let i = 0; i < size; i++) data[i] = isFloat(p.dtype) ? r.next() * 2 - 1 : r.int(3);
    feeds[p.name] = { dtype: p.dtype, shape, data };
  }
  return feeds;
}

/** How the cases ended so far (to check that mutants still reach the runtime often enough). */
export const outcomes = { loadError: 0, loaded: 0, runError: 0, ran: 0 };

export async function runCase(seed: number): Promise<CaseResult> {
  const r = rng(seed);
  const base = r.pick(sources());
  const ops = registeredOps().map((d) => d.name);
  let text = base.text;
  let how: string;
  if (r.int(4) === 0) [text, how] = mutateText(text, r);
  else {
    const doc = JSON.parse(text) as Json;
    const edits = 1 + r.int(3);
    const steps: string[] = [];
    for (let i = 0; i < edits; i++) steps.push(mutateDoc(doc, r, ops));
    text = JSON.stringify(doc);
    how = steps.join('; ');
  }
  const where = `seed ${seed}: models/${base.name} (${how})`;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    outcomes.loadError++;
    return { seed, ok: true }; // loadModel's own JSON error path; not the parser under test
  }
  return typedOutcome(
    seed,
    where,
    () => parseModelJson(doc, base.folder, `${base.name}/model.json`),
    async (model) => {
      const feeds = feedsFor(model, r);
      const outputs = Array.isArray(model.signature.outputs) ? model.signature.outputs : [];
      if (!feeds || !outputs.length) return false;
      const session = new Session(model.graph);
      try {
        await initializeFromModel(session, model);
        await session.run(outputs, feeds);
        return true;
      } finally {
        session.close();
      }
    },
    (event) => outcomes[event]++,
  );
}
