import { spawnSync } from 'child_process';
import * as path from 'path';

test('docs/ops.md is what the op registry generates (npm run docs:ops)', () => {
  const r = spawnSync(process.execPath, [path.resolve(__dirname, '../../scripts/gen-ops-doc.js'), '--check'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
