import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_DATA, runCase } from '../../scripts/conformance-harness';
import { describeGpu } from './helpers';

/**
 * ONNX's own test models on the GPU backends: every case that passes on the cpu
 * (tests/onnx/conformance-passing.txt: node, pytorch-converted, pytorch-operator, simple) must pass
 * on webgpu and on gpujs too (a report per backend: `node scripts/conformance.js --backend webgpu|gpujs`).
 */
const data = process.env.ONNX_TESTDATA ?? DEFAULT_DATA;
const passing = fs
  .readFileSync(path.resolve(__dirname, '../onnx/conformance-passing.txt'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));
const sample = passing;

/** gpu.js computes float64 in float32 (its README, "Limits"): these double models overflow there. */
const GPUJS_FLOAT64 = new Set([
  'pytorch-operator/test_operator_add_broadcast',
  'pytorch-operator/test_operator_add_size1_right_broadcast',
  'pytorch-operator/test_operator_add_size1_singleton_broadcast',
  'pytorch-operator/test_operator_addconstant',
]);

async function failuresOn(backend: 'webgpu' | 'gpujs', skip: Set<string> = new Set()): Promise<string[]> {
  const failures: string[] = [];
  for (const entry of sample) {
    if (skip.has(entry)) continue;
    const [suite, name] = entry.split('/');
    const r = await runCase(path.join(data, suite, name), suite, backend);
    if (r.outcome !== 'pass') failures.push(`${entry}: ${r.outcome} ${r.reason ?? ''}`);
  }
  return failures;
}

const available = fs.existsSync(data);

describeGpu('ONNX test models on the webgpu backend', () => {
  (available ? test : test.skip)(`${sample.length} cases pass as on the cpu`, async () => {
    expect(await failuresOn('webgpu')).toEqual([]);
  }, 300000);
});

describe('ONNX test models on the gpujs backend (its best mode here)', () => {
  (available ? test : test.skip)(`${sample.length - GPUJS_FLOAT64.size} cases pass as on the cpu`, async () => {
    expect(await failuresOn('gpujs', GPUJS_FLOAT64)).toEqual([]);
  }, 300000);
});
