/**
 * ONNX's backend test suites (Debian's libonnx-testdata) through the importer and the CPU backend.
 * Every case listed in conformance-passing.txt (written by `npm run conformance -- --update-list`)
 * must still pass: a regression in any op shows up here. The whole run takes a few seconds.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_DATA, listCases, runCase } from '../../scripts/conformance-harness';

const data = process.env.ONNX_TESTDATA ?? DEFAULT_DATA;
const listFile = path.join(__dirname, 'conformance-passing.txt');
const expected = fs
  .readFileSync(listFile, 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

const available = fs.existsSync(data);
if (!available && process.env.GRAPHC_SKIP_ONNX_TESTDATA !== '1') {
  throw new Error(`ONNX test data not found at ${data}: apt-get install libonnx-testdata (or set GRAPHC_SKIP_ONNX_TESTDATA=1)`);
}

(available ? describe : describe.skip)('ONNX backend test suites', () => {
  const bySuite = new Map<string, string[]>();
  for (const entry of expected) {
    const [suite, name] = entry.split('/');
    if (!bySuite.has(suite)) bySuite.set(suite, []);
    bySuite.get(suite)!.push(name);
  }

  for (const [suite, names] of bySuite) {
    test(`${suite}: the ${names.length} listed cases pass`, async () => {
      const present = new Set(listCases(data, suite).map((d) => path.basename(d)));
      const failures: string[] = [];
      for (const name of names) {
        if (!present.has(name)) {
          failures.push(`${name}: missing from the test data`);
          continue;
        }
        const r = await runCase(path.join(data, suite, name), suite);
        if (r.outcome !== 'pass') failures.push(`${name}: ${r.outcome}: ${r.reason}`);
      }
      expect(failures).toEqual([]);
    });
  }

  test('the pytorch suites pass completely', () => {
    for (const suite of ['pytorch-converted', 'pytorch-operator']) {
      const all = listCases(data, suite).map((d) => `${suite}/${path.basename(d)}`);
      expect(all.length).toBeGreaterThan(30);
      expect(all.filter((c) => !expected.includes(c))).toEqual([]);
    }
  });

  test('at least 700 node cases are expected to pass', () => {
    expect(bySuite.get('node')!.length).toBeGreaterThanOrEqual(700);
  });
});
