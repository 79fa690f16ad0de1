import { GraphcError } from 'graphc';

/** How one fuzz case ended (the runner in run.js reads these). */
export interface CaseResult {
  seed: number;
  ok: boolean;
  detail?: string;
}

export type OutcomeEvent = 'loadError' | 'loaded' | 'runError' | 'ran';

/** Over this long, a case counts as a hang. */
const CASE_LIMIT_MS = 10000;

/**
 * The fate of one mutant: `load` it, then `run` what loaded (returning whether it actually ran).
 * Success or a GraphcError at either stage is a pass; any other exception, or a case over 10 s, is
 * a failure described with `where`. `tally` hears how each case ended.
 */
export async function typedOutcome<T>(
  seed: number,
  where: string,
  load: () => T,
  run: (loaded: T) => Promise<boolean>,
  tally: (event: OutcomeEvent) => void,
): Promise<CaseResult> {
  const start = Date.now();
  let stage: 'load' | 'run' = 'load';
  try {
    const loaded = load();
    tally('loaded');
    stage = 'run';
    if (await run(loaded)) tally('ran');
  } catch (e) {
    tally(stage === 'load' ? 'loadError' : 'runError');
    if (!(e instanceof GraphcError)) {
      return { seed, ok: false, detail: `${where}: untyped error at ${stage}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}` };
    }
  }
  const ms = Date.now() - start;
  if (ms > CASE_LIMIT_MS) return { seed, ok: false, detail: `${where}: took ${ms} ms` };
  return { seed, ok: true };
}
