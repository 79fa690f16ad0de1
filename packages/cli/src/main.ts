import * as os from 'os';
import { Command, CommanderError } from 'commander';
import { setCpuThreads } from '@graphc/runtime';
import { exitCodeFor, reasonOf } from './cli-error';
import { registerCommands } from './commands';

/** The version of the graphc package (packages/cli/package.json, beside dist/ and src/). */
function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../package.json') as { version: string }).version;
}

/**
 * Runs the `graphc` CLI on `argv` and resolves to the process exit code (0 ok, 1 runtime failure,
 * 2 bad usage or bad input, with a one-line reason on stderr).
 */
export async function main(argv: string[]): Promise<number> {
  // the CLI uses the machine's cores for large products, as TensorFlow and onnxruntime do by
  // default (up to 8); GRAPHC_CPU_THREADS decides instead when set (the library's default is one)
  if (process.env.GRAPHC_CPU_THREADS === undefined) setCpuThreads(Math.min(8, Math.max(1, os.cpus().length)));
  const program = new Command('graphc')
    .description('graphc: a define-and-run deep-learning graph compiler and runtime')
    .version(packageVersion(), '-V, --version', 'print the graphc version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerCommands(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0; every other parse failure is bad usage
      return error.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`graphc: ${reasonOf(error)}\n`);
    if (process.env.GRAPHC_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return exitCodeFor(error);
  }
}
