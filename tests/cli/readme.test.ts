import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { firstTsBlock, runExample, typeErrors } from './ts-example';

// The README's TypeScript example is what a newcomer copies first: it must type-check and run.
const example = firstTsBlock('README.md');

test('the README example type-checks against the public API', () => {
  expect(typeErrors(example)).toEqual([]);
});

test('the README example runs and trains (the loss falls below its starting value)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-readme-'));
  // the model is saved under dir
  const r = runExample(example, (body) => body.replace("'out/model.json'", JSON.stringify(path.join(dir, 'out/model.json'))));
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const loss = Number(r.stdout.trim());
  expect(loss).toBeGreaterThanOrEqual(0);
  expect(loss).toBeLessThan(Math.log(3));
  expect(fs.existsSync(path.join(dir, 'out/model.json'))).toBe(true);
});
