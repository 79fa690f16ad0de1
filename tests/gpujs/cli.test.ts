import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { testModes } from './harness';

/** `graphc run` and `graphc train` with `--backend gpujs`, end to end through the built CLI. */
const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'packages/cli/bin/graphc.js');
const DATA = '/usr/share/datasets/fashion-mnist';

jest.setTimeout(300_000);

function graphc(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
}

test('graphc run --backend gpujs gives the cpu backend outputs on every mode', async () => {
  const cpu = graphc(['run', 'models/mlp/model.json', '--feeds', 'models/mlp/feeds.json']);
  expect(cpu.status).toBe(0);
  const want = JSON.parse(cpu.stdout).probs.data as number[];
  for (const mode of await testModes()) {
    const r = graphc(['run', 'models/mlp/model.json', '--feeds', 'models/mlp/feeds.json', '--backend', 'gpujs'], { GRAPHC_GPUJS_MODE: mode });
    expect({ mode, status: r.status, stderr: r.status ? r.stderr : '' }).toEqual({ mode, status: 0, stderr: '' });
    const got = JSON.parse(r.stdout).probs.data as number[];
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-4 * Math.abs(want[i]) + 1e-7));
  }
});

test('graphc train --backend gpujs trains a model and reaches the cpu backend loss', async () => {
  if (!fs.existsSync(DATA)) return; // Debian's dataset-fashion-mnist (installed by .ci/setup-system.sh)
  const model = path.join(ROOT, 'models/fashion-mlp/model.json');
  if (!fs.existsSync(model)) return;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gpujs-train-'));
  const args = (backend: string) => ['train', model, '--data', DATA, '--epochs', '1', '--limit', '640', '--test-limit', '200', '--backend', backend, '--progress', 'none', '--json', '-o', path.join(out, `${backend}.json`)];
  const cpu = graphc(args('cpu'));
  expect(cpu.status).toBe(0);
  const want = JSON.parse(cpu.stdout.trim().split('\n').pop()!);
  const r = graphc(args('gpujs'), { GRAPHC_GPUJS_MODE: 'webasm' });
  expect({ status: r.status, stderr: r.status ? r.stderr : '' }).toEqual({ status: 0, stderr: '' });
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
  expect(got.steps).toBe(want.steps);
  expect(Math.abs(got.finalLoss - want.finalLoss)).toBeLessThanOrEqual(1e-4 * Math.abs(want.finalLoss));
  expect(got.testAccuracy).toBeCloseTo(want.testAccuracy, 2);
  expect(fs.existsSync(path.join(out, 'gpujs.json'))).toBe(true);
});
