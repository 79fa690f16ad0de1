import type { Command } from 'commander';
import { registerRun } from './run';
import { registerInspect } from './inspect';
import { registerTrain } from './train';
import { registerOptimize } from './optimize';
import { registerConvert } from './convert';
import { registerBench } from './bench';
import { registerViz } from './viz';
import '../onnx-support';

/** Each command lives in its own module and registers itself here. */
export function registerCommands(program: Command): void {
  registerRun(program);
  registerInspect(program);
  registerTrain(program);
  registerOptimize(program);
  registerConvert(program);
  registerBench(program);
  registerViz(program);
}
