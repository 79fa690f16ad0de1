import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as ts from 'typescript';

// The README's TypeScript example is what a newcomer copies first: it must type-check and run.
const README = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
const example = /```ts\n([\s\S]*?)```/.exec(README)![1];

test('the README example type-checks against the public API', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-readme-'));
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
  const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(problems).toEqual([]);
});

test('the README example runs and trains (the loss falls below its starting value)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-readme-'));
  // top-level await in CommonJS: the body in an async function, the model saved under dir
  const body = example
    .split('\n')
    .filter((l) => !l.startsWith('import '))
    .join('\n')
    .replace("'out/model.json'", JSON.stringify(path.join(dir, 'out/model.json')));
  const imports = example.split('\n').filter((l) => l.startsWith('import ')).join('\n');
  const source = `${imports}\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });\n`;
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const file = path.join(dir, 'example.js');
  fs.writeFileSync(file, js.replace(/require\("graphc"\)/, `require(${JSON.stringify(path.resolve(__dirname, '../../packages/cli/dist'))})`));
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const loss = Number(r.stdout.trim());
  expect(loss).toBeGreaterThanOrEqual(0);
  expect(loss).toBeLessThan(Math.log(3));
  expect(fs.existsSync(path.join(dir, 'out/model.json'))).toBe(true);
});
