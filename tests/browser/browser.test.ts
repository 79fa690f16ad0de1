import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { Session, exportOnnx, initializeFromModel, loadModel, tensor } from 'graphc';

/**
 * graphc in a web page: the browser bundle (scripts/build-browser.js) in headless Chromium, where
 * the webgpu backend reaches WebGPU through navigator.gpu (Chromium's SwiftShader adapter without a
 * GPU) and gpujs runs gpu.js's browser modes. The page runs tests/browser/convnet.js (a small convnet
 * trained three Adam steps, and a whileLoop) on cpu, webgpu and gpujs, and posts the values here.
 */
const CHROMIUM = process.env.GRAPHC_CHROMIUM ?? '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
const required = Boolean(process.env.CI || process.env.GRAPHC_REQUIRE_BROWSER);
const ROOT = path.resolve(__dirname, '../..');

interface BackendResult {
  losses: number[];
  logits: number[];
  acc: number[];
  device?: unknown;
  error?: string;
}
type PageResult = { userAgent: string; navigatorGpu: boolean; files: { json: number[]; onnx: number[]; error?: string } } & Record<'cpu' | 'webgpu' | 'gpujs', BackendResult>;

/** The README's page example, its console.log posting the value to /readme instead. */
function readmePage(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const html = /```html\n([\s\S]*?)```/.exec(readme)![1];
  return `<!doctype html><html><body>${html.replace(/console\.log\((.*?)\)\);/, "fetch('/readme', { method: 'POST', body: JSON.stringify(Array.from($1)) }));")}</body></html>`;
}

/** Serves the pages, the bundle and model files; resolves with what the pages post to /result and /readme. */
function serve(bundle: string, mlpOnnx: Uint8Array): { port: Promise<number>; result: Promise<PageResult>; readme: Promise<number[]>; close: () => void } {
  let deliver!: (r: PageResult) => void;
  let deliverReadme!: (r: number[]) => void;
  const result = new Promise<PageResult>((resolve) => (deliver = resolve));
  const readme = new Promise<number[]>((resolve) => (deliverReadme = resolve));
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.end('ok');
        (req.url === '/readme' ? deliverReadme : deliver)(JSON.parse(body));
      });
      return;
    }
    const url = req.url ?? '/';
    const files: Record<string, string> = { '/graphc.js': bundle, '/': path.join(__dirname, 'page.html') };
    const local = /^\/(convnet|model-files)\.js$/.test(url) ? path.join(__dirname, url) : /^\/models\/mlp\/[\w.]+$/.test(url) ? path.join(ROOT, url) : files[url];
    const body = url === '/readme.html' ? readmePage() : url === '/mlp.onnx' ? mlpOnnx : local && fs.existsSync(local) ? fs.readFileSync(local) : null;
    if (body === null) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': req.url?.endsWith('.js') ? 'text/javascript' : 'text/html' });
    res.end(body);
  });
  const port = new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return { port, result, readme, close: () => server.close() };
}

const closeTo = (got: number[], want: number[]) => got.length === want.length && got.every((g, i) => Math.abs(g - want[i]) <= 1e-4 * (1 + Math.abs(want[i])));

(available ? describe : required ? describe : describe.skip)(`graphc in headless Chromium (${available ? CHROMIUM : `${CHROMIUM} not installed: apt-get install chromium`})`, () => {
  let page: PageResult;
  let readmeValues: number[];
  const chromium: ChildProcess[] = [];
  let server: ReturnType<typeof serve> | undefined;

  beforeAll(async () => {
    if (!available) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium, as .ci/setup-system.sh does)`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-browser-'));
    const bundle = path.join(dir, 'graphc.js');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-browser.js'), '--out', bundle], { stdio: 'pipe' });
    const mlp = await loadModel(path.join(ROOT, 'models/mlp/model.json'));
    server = serve(bundle, exportOnnx(mlp.graph, { outputs: mlp.signature.outputs, variables: mlp.variables }));
    const port = await server.port;
    // a browser per page (headless Chromium opens only its first URL)
    for (const [k, url] of ['/', '/readme.html'].entries()) {
      const flags = ['--headless=new', '--no-sandbox', '--disable-gpu-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan'];
      chromium.push(spawn(CHROMIUM, [...flags, `--user-data-dir=${dir}/profile${k}`, `http://127.0.0.1:${port}${url}`], { stdio: 'ignore' }));
    }
    [page, readmeValues] = await Promise.all([server.result, server.readme]);
  }, 120000);

  afterAll(() => {
    for (const c of chromium) c.kill('SIGKILL');
    server?.close();
  });

  test('the page reaches WebGPU through navigator.gpu', () => {
    expect(page.userAgent).toMatch(/HeadlessChrome/);
    expect(page.navigatorGpu).toBe(true);
    expect(page.webgpu.device).toMatchObject({ name: expect.any(String) });
  });

  test.each(['cpu', 'webgpu', 'gpujs'] as const)('%s trains the convnet (the loss falls) and runs the loop', (backend) => {
    const r = page[backend];
    expect(r.error).toBeUndefined();
    expect(r.losses[2]).toBeLessThan(r.losses[0]);
    expect(r.acc).toEqual([12]); // 3 iterations of the sum of 4 softmax rows
  });

  test.each(['webgpu', 'gpujs'] as const)('%s in the browser gives the cpu backend values', (backend) => {
    expect(closeTo(page[backend].losses, page.cpu.losses)).toBe(true);
    expect(closeTo(page[backend].logits, page.cpu.logits)).toBe(true);
  });

  test('the browser cpu backend gives what Node gives', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runConvnet } = require('./convnet.js') as { runConvnet: (g: unknown, backend: string) => Promise<BackendResult> };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const node = await runConvnet(require(path.join(ROOT, 'packages/cli/dist')), 'cpu');
    expect(closeTo(node.losses, page.cpu.losses)).toBe(true);
    expect(closeTo(node.logits, page.cpu.logits)).toBe(true);
  });

  test("the README's page example runs: softmax of [1, -1] W is [0.5, 0.5]", () => {
    expect(readmeValues).toEqual([0.5, 0.5]);
  });

  test('a page loads model files: models/mlp from model.json + weights (modelFromBytes) and as ONNX (importOnnx), as Node runs them', async () => {
    expect(page.files.error).toBeUndefined();
    const model = await loadModel(path.join(ROOT, 'models/mlp/model.json'));
    const s = new Session(model.graph);
    await initializeFromModel(s, model);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { X } = require('./model-files.js') as { X: number[] };
    const want = Array.from((await s.run(model.signature.outputs[0], { x: tensor(X, [2, 4]) })).data);
    expect(closeTo(page.files.json, want)).toBe(true);
    expect(closeTo(page.files.onnx, want)).toBe(true);
  });

  test('gpujs picks a browser mode', () => {
    expect(['webgpu', 'webgl2', 'webgl', 'webasm', 'cpu']).toContain(page.gpujs.device);
  });
});
