import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SpawnSyncReturns, spawnSync } from 'child_process';
import * as ts from 'typescript';

/** The first ```ts block of a markdown file (the README, a doc): what a reader copies. */
export function firstTsBlock(markdown: string): string {
  return /```ts\n([\s\S]*?)```/.exec(fs.readFileSync(path.resolve(__dirname, '../..', markdown), 'utf8'))![1];
}

/** Type errors of `example` against the built public API (`graphc` -> packages/cli/dist). */
export function typeErrors(example: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-example-'));
  const file = path.join(dir, 'example.ts');
  fs.writeFileSync(file, `export {};\n${example}`);
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    skipLibCheck: true, // as `tsc --init` sets it: onnx-proto's declarations assume a global Long
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: ['node'],
    typeRoots: [path.resolve(__dirname, '../../node_modules/@types')],
    baseUrl: path.resolve(__dirname, '../..'),
    paths: { graphc: ['packages/cli/dist/index.d.ts'] },
  });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

/**
 * Runs `example` in a child node process against the built package, its statements in an async
 * function (top-level await in CommonJS), with `edit` applied to the body and `epilogue` after it.
 */
export function runExample(example: string, edit: (body: string) => string = (b) => b, epilogue = ''): SpawnSyncReturns<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-example-'));
  const lines = example.split('\n');
  const imports = lines.filter((l) => l.startsWith('import ')).join('\n');
  const body = edit(lines.filter((l) => !l.startsWith('import ')).join('\n'));
  const source = `${imports}\n(async () => {\n${body}\n${epilogue}\n})().catch((e) => { console.error(e); process.exit(1); });\n`;
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const file = path.join(dir, 'example.js');
  fs.writeFileSync(file, js.replace(/require\("graphc"\)/, `require(${JSON.stringify(path.resolve(__dirname, '../../packages/cli/dist'))})`));
  return spawnSync(process.execPath, [file], { encoding: 'utf8' });
}
