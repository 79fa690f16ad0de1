import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';

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
type PageResult = { userAgent: string; navigatorGpu: boolean } & Record<'cpu' | 'webgpu' | 'gpujs', BackendResult>;

/** Serves the page and the bundle; resolves with what the page posts to /result. */
function serve(bundle: string): { port: Promise<number>; result: Promise<PageResult>; close: () => void } {
  let deliver!: (r: PageResult) => void;
  const result = new Promise<PageResult>((resolve) => (deliver = resolve));
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/result') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.end('ok');
        deliver(JSON.parse(body));
      });
      return;
    }
    const file = req.url === '/graphc.js' ? bundle : req.url === '/convnet.js' ? path.join(__dirname, 'convnet.js') : path.join(__dirname, 'page.html');
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' });
    res.end(fs.readFileSync(file));
  });
  const port = new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return { port, result, close: () => server.close() };
}

const closeTo = (got: number[], want: number[]) => got.length === want.length && got.every((g, i) => Math.abs(g - want[i]) <= 1e-4 * (1 + Math.abs(want[i])));

(available ? describe : required ? describe : describe.skip)(`graphc in headless Chromium (${available ? CHROMIUM : `${CHROMIUM} not installed: apt-get install chromium`})`, () => {
  let page: PageResult;
  let chromium: ChildProcess | undefined;
  let server: ReturnType<typeof serve> | undefined;

  beforeAll(async () => {
    if (!available) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium, as .ci/setup-system.sh does)`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-browser-'));
    const bundle = path.join(dir, 'graphc.js');
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-browser.js'), '--out', bundle], { stdio: 'pipe' });
    server = serve(bundle);
    const port = await server.port;
    chromium = spawn(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', `--user-data-dir=${dir}/profile`, `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
    page = await server.result;
  }, 120000);

  afterAll(() => {
    chromium?.kill('SIGKILL');
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

  test('gpujs picks a browser mode', () => {
    expect(['webgpu', 'webgl2', 'webgl', 'webasm', 'cpu']).toContain(page.gpujs.device);
  });
});
