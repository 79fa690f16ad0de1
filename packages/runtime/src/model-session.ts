import type { LoadedModel } from '@graphc/graph';
import type { Session } from './session';

/**
 * Puts a loaded model's variables into `session`: saved values where the file has them, and the
 * variables' own initializers for the rest. Variables already set in the session are left alone.
 */
export async function initializeFromModel(session: Session, model: Pick<LoadedModel, 'graph' | 'variables'>): Promise<void> {
  const pending = [];
  for (const [name, init] of model.graph.variableInitializers) {
    if (session.variables.has(name)) continue;
    const saved = model.variables.get(name);
    if (saved) session.variables.write(name, saved);
    else pending.push(init);
  }
  if (pending.length) await session.run(pending);
}
