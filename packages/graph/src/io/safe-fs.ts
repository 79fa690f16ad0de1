import * as fs from 'fs';
import * as path from 'path';
import { FormatError } from '../errors';

/**
 * Resolves `relative` inside `folder`, refusing anything that escapes it (absolute paths, `..`,
 * symbolic links pointing outside): a model file must never make graphc read elsewhere.
 */
export function resolveInside(folder: string, relative: string, what: string): string {
  if (typeof relative !== 'string' || relative === '' || path.isAbsolute(relative) || relative.includes('\0')) {
    throw new FormatError(`${what}: path '${String(relative)}' must be a relative path inside the model's folder`);
  }
  const root = fs.realpathSync(folder);
  const target = path.resolve(root, relative);
  const inside = (p: string): boolean => {
    const rel = path.relative(root, p);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  if (!inside(target)) throw new FormatError(`${what}: path '${relative}' escapes the model's folder ${folder}`);
  if (fs.existsSync(target) && !inside(fs.realpathSync(target))) {
    throw new FormatError(`${what}: path '${relative}' links outside the model's folder ${folder}`);
  }
  return target;
}

/** Writes a file so that a crash never leaves it half-written: temporary file, fsync, rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, data as Uint8Array);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function readFileOrThrow(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new FormatError(`${what} '${file}' cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
