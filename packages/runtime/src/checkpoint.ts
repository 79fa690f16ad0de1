import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  BYTES_PER_ELEMENT,
  DType,
  FormatError,
  GraphcError,
  TensorValue,
  decodeTensorData,
  encodeTensorData,
  isDType,
  shapeToString,
  sizeOf,
} from '@graphc/graph';
import type { Session } from './session';

/**
 * Checkpoints: the values of every variable of a session (weights, optimizer slots, the global step)
 * in one file, so a training run can stop and resume exactly where it was.
 *
 * Layout (docs/checkpoint-format.md): the magic line `graphc-checkpoint\n`, a 4-byte little-endian
 * header length, a JSON header listing each variable's dtype, shape, byte range and SHA-256, then the
 * data (each tensor 8-byte aligned). The whole file is written to a temporary name, flushed to disk
 * and renamed over the target, so a crash or kill at any moment leaves either the previous
 * checkpoint or the new one, never a torn file; the checksums catch any other damage.
 */

export const CHECKPOINT_MAGIC = 'graphc-checkpoint\n';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointEntry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  byteLength: number;
  sha256: string;
}

export interface CheckpointHeader {
  format: 'graphc-checkpoint';
  version: number;
  /** The global step when saved, if the graph has one. */
  step?: number;
  /** Free-form (epoch, data position, ...). */
  metadata?: Record<string, unknown>;
  variables: CheckpointEntry[];
  dataByteLength: number;
}

export interface Checkpoint {
  header: CheckpointHeader;
  variables: Map<string, TensorValue>;
}

/** Restoring into a graph whose variables differ from the checkpoint's (names, dtypes or shapes). */
export class CheckpointMismatchError extends GraphcError {}

export interface SaveCheckpointOptions {
  metadata?: Record<string, unknown>;
}

/**
 * Saves every variable of `session`'s graph to `file`, atomically. Every variable must hold a value
 * (run the initializer, or restore, first).
 *
 * ```ts
 * await saveCheckpoint(sess, 'run/ckpt.gckpt', { metadata: { epoch: 3 } });
 * ```
 */
export async function saveCheckpoint(session: Session, file: string, options: SaveCheckpointOptions = {}): Promise<CheckpointHeader> {
  const names = session.graph.variables().map((v) => v.node.name);
  const missing = names.filter((n) => !session.variables.has(n));
  if (missing.length) {
    throw new GraphcError(`saveCheckpoint: variable ${missing.map((n) => `'${n}'`).join(', ')} has no value yet: run globalVariablesInitializer() (or restore) first`);
  }
  const values = new Map<string, TensorValue>();
  for (const n of names) values.set(n, await session.variables.read(n));
  const stepValue = values.get('global_step');
  const bytes = encodeCheckpoint(values, {
    ...(stepValue && stepValue.data.length === 1 ? { step: Number(stepValue.data[0]) } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
  });
  writeAtomic(file, bytes);
  return decodeHeader(bytes, file).header;
}

/**
 * Restores every variable of `session`'s graph from `file`. The checkpoint must hold exactly the
 * graph's variables with the same dtypes and shapes; otherwise nothing is restored and the
 * CheckpointMismatchError lists every difference.
 */
export async function restoreCheckpoint(session: Session, file: string): Promise<CheckpointHeader> {
  const ckpt = readCheckpoint(file);
  const graphVars = session.graph.variables();
  const problems: string[] = [];
  const expected = new Set(graphVars.map((v) => v.node.name));
  for (const v of graphVars) {
    const saved = ckpt.variables.get(v.node.name);
    if (!saved) problems.push(`'${v.node.name}' (${v.dtype} ${shapeToString(v.shape)}) is not in the checkpoint`);
    else if (saved.dtype !== v.dtype || !sameShape(saved.shape, v.shape)) {
      problems.push(`'${v.node.name}' is ${v.dtype} ${shapeToString(v.shape)} in the graph but ${saved.dtype} ${shapeToString(saved.shape)} in the checkpoint`);
    }
  }
  for (const name of ckpt.variables.keys()) if (!expected.has(name)) problems.push(`'${name}' is in the checkpoint but not a variable of the graph`);
  if (problems.length) {
    throw new CheckpointMismatchError(`checkpoint '${file}' does not match the graph's variables: ${problems.join('; ')}`);
  }
  for (const [name, value] of ckpt.variables) session.variables.write(name, value);
  return ckpt.header;
}

/** Reads and verifies a checkpoint file (magic, header, sizes, checksums); FormatError naming the file otherwise. */
export function readCheckpoint(file: string): Checkpoint {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new FormatError(`checkpoint '${file}' cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { header, dataStart } = decodeHeader(bytes, file);
  const variables = new Map<string, TensorValue>();
  for (const e of header.variables) {
    const slice = bytes.subarray(dataStart + e.offset, dataStart + e.offset + e.byteLength);
    if (createHash('sha256').update(slice).digest('hex') !== e.sha256) {
      throw new FormatError(`checkpoint '${file}': variable '${e.name}' fails its checksum: the file is corrupt`);
    }
    variables.set(e.name, { dtype: e.dtype, shape: [...e.shape], data: decodeTensorData(e.dtype, slice, sizeOf(e.shape)) });
  }
  return { header, variables };
}

const ALIGN = 8;

function encodeCheckpoint(values: Map<string, TensorValue>, extra: Pick<CheckpointHeader, 'step' | 'metadata'>): Buffer {
  const chunks: Uint8Array[] = [];
  const entries: CheckpointEntry[] = [];
  let size = 0;
  for (const [name, v] of values) {
    const data = encodeTensorData(v.dtype, v.data);
    const pad = (ALIGN - (size % ALIGN)) % ALIGN;
    if (pad) chunks.push(new Uint8Array(pad));
    size += pad;
    entries.push({ name, dtype: v.dtype, shape: [...v.shape], offset: size, byteLength: data.byteLength, sha256: createHash('sha256').update(data).digest('hex') });
    chunks.push(data);
    size += data.byteLength;
  }
  const header: CheckpointHeader = { format: 'graphc-checkpoint', version: CHECKPOINT_VERSION, ...extra, variables: entries, dataByteLength: size };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(CHECKPOINT_MAGIC.length + 4);
  prefix.write(CHECKPOINT_MAGIC, 0, 'ascii');
  prefix.writeUInt32LE(json.byteLength, CHECKPOINT_MAGIC.length);
  const headerPad = Buffer.alloc((ALIGN - ((prefix.byteLength + json.byteLength) % ALIGN)) % ALIGN, 0x20);
  return Buffer.concat([prefix, json, headerPad, ...chunks]);
}

function decodeHeader(bytes: Buffer, file: string): { header: CheckpointHeader; dataStart: number } {
  const fail = (why: string): never => {
    throw new FormatError(`checkpoint '${file}': ${why}`);
  };
  if (bytes.byteLength < CHECKPOINT_MAGIC.length + 4 || bytes.toString('ascii', 0, CHECKPOINT_MAGIC.length) !== CHECKPOINT_MAGIC) {
    fail('not a graphc checkpoint (bad magic)');
  }
  const length = bytes.readUInt32LE(CHECKPOINT_MAGIC.length);
  const jsonStart = CHECKPOINT_MAGIC.length + 4;
  if (jsonStart + length > bytes.byteLength) fail(`header of ${length} bytes runs past the end of the file (truncated)`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', jsonStart, jsonStart + length)) as CheckpointHeader;
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (header.format !== 'graphc-checkpoint' || header.version !== CHECKPOINT_VERSION) {
    fail(`unsupported format '${String(header.format)}' version ${String(header.version)} (this graphc reads version ${CHECKPOINT_VERSION})`);
  }
  const dataStart = jsonStart + length + ((ALIGN - ((jsonStart + length) % ALIGN)) % ALIGN);
  if (!Array.isArray(header.variables) || !Number.isInteger(header.dataByteLength)) fail('header lacks its variable list');
  if (bytes.byteLength !== dataStart + header.dataByteLength) {
    fail(`has ${bytes.byteLength} bytes, the header says ${dataStart + header.dataByteLength} (truncated or padded)`);
  }
  for (const e of header.variables) {
    const ok =
      typeof e.name === 'string' &&
      isDType(e.dtype) &&
      Array.isArray(e.shape) &&
      e.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      e.byteLength === sizeOf(e.shape) * BYTES_PER_ELEMENT[e.dtype] &&
      Number.isInteger(e.offset) &&
      e.offset >= 0 &&
      e.offset + e.byteLength <= header.dataByteLength;
    if (!ok) fail(`entry '${String(e.name)}' has an invalid dtype, shape or byte range`);
  }
  return { header, dataStart };
}

/**
 * Temporary file in the same folder, written and fsynced, renamed over `file`, then the folder
 * fsynced so the rename itself survives a power cut. Temporaries left by killed writers (whose
 * process is gone) are removed.
 */
function writeAtomic(file: string, bytes: Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const base = path.basename(file);
  const tmp = path.join(dir, `.${base}.tmp-${process.pid}-${Date.now()}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // some platforms cannot fsync a directory; the rename is still atomic
  }
  removeStaleTemporaries(dir, base);
}

function removeStaleTemporaries(dir: string, base: string): void {
  const prefix = `.${base}.tmp-`;
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (pid === process.pid || !Number.isInteger(pid) || isAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sameShape(a: number[], b: (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
