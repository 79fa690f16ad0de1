import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CheckpointMismatchError,
  FormatError,
  Graph,
  Session,
  SymbolicTensor,
  ops,
  readCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
  tensor,
  train,
} from 'graphc';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'graphc-ckpt-'));

function buildModel(): { g: Graph; loss: SymbolicTensor; step: ReturnType<train.Adam['minimize']>; w: SymbolicTensor } {
  const g = new Graph();
  const x = g.placeholder('float32', [null, 3], 'x');
  const w = g.variable(tensor([0.5, -0.25, 1, 0.75, 0.1, -1], [3, 2]), 'w');
  const b = g.variable(tensor([0, 0.5], [2]), 'b');
  const loss = ops.reduceMean(ops.square(ops.add(ops.matmul(x, w), b)));
  const step = new train.Adam(0.1).minimize(loss);
  return { g, loss, step, w };
}

const feeds = { x: tensor([1, 2, 3, -1, 0.5, 2], [2, 3]) };

describe('checkpoints', () => {
  test('save and restore every variable, optimizer slots and global step included: training resumes exactly', async () => {
    const dir = tmp();
    const file = path.join(dir, 'model.gckpt');
    // run A: 3 steps, checkpoint, 3 more steps
    const a = buildModel();
    const sa = new Session(a.g);
    await sa.run(a.g.globalVariablesInitializer());
    for (let i = 0; i < 3; i++) await sa.run(a.step, feeds);
    const header = await saveCheckpoint(sa, file, { metadata: { epoch: 1 } });
    expect(header.step).toBe(3);
    expect(header.metadata).toEqual({ epoch: 1 });
    expect(header.variables.map((v) => v.name).sort()).toEqual(
      ['Adam/beta1_power', 'Adam/beta2_power', 'b', 'b/Adam/m', 'b/Adam/v', 'global_step', 'w', 'w/Adam/m', 'w/Adam/v'].sort(),
    );
    const lossesA: number[] = [];
    for (let i = 0; i < 3; i++) lossesA.push((await sa.run({ loss: a.loss, step: a.step }, feeds)).loss.data[0]);

    // run B: a fresh graph and session restored from the checkpoint continues identically
    const b = buildModel();
    const sb = new Session(b.g);
    const restored = await restoreCheckpoint(sb, file);
    expect(restored.step).toBe(3);
    const lossesB: number[] = [];
    for (let i = 0; i < 3; i++) lossesB.push((await sb.run({ loss: b.loss, step: b.step }, feeds)).loss.data[0]);
    expect(lossesB).toEqual(lossesA);
    expect(Array.from((await sb.run(b.w)).data)).toEqual(Array.from((await sa.run(a.w)).data));
    expect((await sb.run('global_step')).data[0]).toBe(6);
    expect(fs.readdirSync(dir)).toEqual(['model.gckpt']);
  });

  test('restoring into a graph with other variables fails, naming each difference, and restores nothing', async () => {
    const dir = tmp();
    const file = path.join(dir, 'a.gckpt');
    const g = new Graph();
    g.variable(tensor([1, 2], [2]), 'w');
    g.variable(tensor([3], [1]), 'b');
    const s = new Session(g);
    await s.run(g.globalVariablesInitializer());
    await saveCheckpoint(s, file);

    const other = new Graph();
    other.variable(tensor([1, 2, 3], [3]), 'w');
    other.variable(tensor([0], [1]), 'c');
    const so = new Session(other);
    const err = await restoreCheckpoint(so, file).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointMismatchError);
    expect(err.message).toMatch(/'w' is float32 \[3\] in the graph but float32 \[2\] in the checkpoint/);
    expect(err.message).toMatch(/'c' \(float32 \[1\]\) is not in the checkpoint/);
    expect(err.message).toMatch(/'b' is in the checkpoint but not a variable of the graph/);
    expect(so.variables.has('w')).toBe(false);
  });

  test('saving before initialization fails clearly', async () => {
    const g = new Graph();
    g.variable(tensor([1], [1]), 'w');
    await expect(saveCheckpoint(new Session(g), path.join(tmp(), 'x.gckpt'))).rejects.toThrow(/'w' has no value yet/);
  });

  test('damaged files are refused: truncated, flipped byte, not a checkpoint, missing', async () => {
    const dir = tmp();
    const file = path.join(dir, 'c.gckpt');
    const g = new Graph();
    g.variable(tensor(new Float32Array(100).fill(2), [100]), 'w');
    const s = new Session(g);
    await s.run(g.globalVariablesInitializer());
    await saveCheckpoint(s, file);
    const good = fs.readFileSync(file);
    expect(readCheckpoint(file).variables.get('w')!.data[99]).toBe(2);

    fs.writeFileSync(file, good.subarray(0, good.length - 10));
    expect(() => readCheckpoint(file)).toThrow(/truncated/);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5] ^= 0xff;
    fs.writeFileSync(file, flipped);
    expect(() => readCheckpoint(file)).toThrow(/checksum/);
    fs.writeFileSync(file, 'hello');
    expect(() => readCheckpoint(file)).toThrow(FormatError);
    expect(() => readCheckpoint(path.join(dir, 'none.gckpt'))).toThrow(/cannot be read/);
  });

  test('killing the writer at any moment (mid-write included) never leaves a corrupt checkpoint', async () => {
    const dir = tmp();
    const file = path.join(dir, 'big.gckpt');
    const size = 2 << 20; // 8 MiB of float32: writes take long enough to be hit
    const writer = path.join(__dirname, 'fixtures', 'checkpoint-writer.js');
    let midWriteKills = 0;
    let lastSaved = 0;
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      const child = spawn(process.execPath, [writer, file, String(size)], { stdio: ['ignore', 'pipe', 'pipe'] });
      const saved = watchSaves(child);
      // wait for at least one complete save in this round
      await saved.until((n) => n >= 1);
      if (round % 2 === 0) {
        // kill while a temporary file is open: between open and rename
        await waitFor(() => fs.readdirSync(dir).some((n) => n.includes('.tmp-')), 20000);
        child.kill('SIGKILL');
        midWriteKills++;
      } else {
        await new Promise((r) => setTimeout(r, 30 + round * 37));
        child.kill('SIGKILL');
      }
      await new Promise((r) => child.once('exit', r));
      const reported = saved.last();
      const ckpt = readCheckpoint(file); // throws if torn or corrupt
      const big = ckpt.variables.get('big')!;
      const value = big.data[0];
      // a whole checkpoint: the last one reported or the one whose rename beat the kill
      expect([reported, reported + 1]).toContain(value);
      expect(big.data.every((v) => v === value)).toBe(true);
      expect(ckpt.header.step).toBe(value);
      expect(ckpt.header.metadata).toEqual({ iteration: value });
      lastSaved = value;
    }
    expect(midWriteKills).toBe(2);
    expect(lastSaved).toBeGreaterThan(0);
    // the next successful save removes temporaries that killed writers left behind
    const g = new Graph();
    g.variable(tensor(new Float32Array(size), [size]), 'big');
    g.variable(tensor([0], [], 'int64'), 'global_step', { trainable: false });
    const s = new Session(g);
    await restoreCheckpoint(s, file);
    await saveCheckpoint(s, file, { metadata: { iteration: lastSaved } });
    expect(fs.readdirSync(dir)).toEqual(['big.gckpt']);
  }, 60000);
});

function watchSaves(child: ChildProcess): { until: (pred: (n: number) => boolean) => Promise<void>; last: () => number } {
  let last = 0;
  let buffer = '';
  let stderr = '';
  const waiters: { pred: (n: number) => boolean; resolve: () => void }[] = [];
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => {
    buffer += d;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      const m = /^saved (\d+)$/.exec(line);
      if (m) last = Number(m[1]);
    }
    for (const w of waiters.splice(0)) (w.pred(last) ? w.resolve : () => waiters.push(w))();
  });
  return {
    until: (pred) =>
      new Promise<void>((resolve, reject) => {
        if (pred(last)) return resolve();
        waiters.push({ pred, resolve });
        child.once('exit', (code) => (pred(last) ? resolve() : reject(new Error(`writer exited (${code}): ${stderr}`))));
      }),
    last: () => last,
  };
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setImmediate(r));
  }
}
