import { GraphError, UnsupportedOpError } from './errors';
import type { OpDef } from './opdef';

const registry = new Map<string, OpDef>();

/** Registers an op; op files call this at import. Registering a name twice is a bug. */
export function registerOp(def: OpDef): OpDef {
  if (registry.has(def.name)) throw new GraphError(`op '${def.name}' is registered twice`);
  registry.set(def.name, def);
  return def;
}

export function getOpDef(name: string): OpDef {
  const def = registry.get(name);
  if (!def) throw new UnsupportedOpError(`unknown op '${name}'`, [name]);
  return def;
}

export function hasOp(name: string): boolean {
  return registry.has(name);
}

export function registeredOps(): OpDef[] {
  return [...registry.values()];
}

/** Attaches a gradient builder to an already registered op (gradient files live beside op files). */
export function setGradient(name: string, gradient: OpDef['gradient'], nonDifferentiableInputs?: number[]): void {
  const def = getOpDef(name);
  def.gradient = gradient;
  if (nonDifferentiableInputs) def.nonDifferentiableInputs = nonDifferentiableInputs;
}
