/**
 * Training progress: a one-line bar redrawn in place (epoch, step, loss, examples/s) when the stream
 * is a terminal; plain lines at a steady interval otherwise (logs, CI), so output never fills with
 * carriage returns.
 */
export interface StepReport {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  examplesPerSecond: number;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  loss: number;
  seconds: number;
  examplesPerSecond: number;
  testAccuracy?: number;
}

export class Progress {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean },
    private readonly mode: 'bar' | 'lines' | 'none',
    /** In lines mode, a line every this many steps. */
    private readonly every = 100,
  ) {}

  step(r: StepReport): void {
    if (this.mode === 'none') return;
    const line = `epoch ${r.epoch}/${r.epochs} ${this.mode === 'bar' ? `${bar(r.step / r.steps)} ` : 'step '}${r.step}/${r.steps}  loss ${r.loss.toFixed(4)}  ${Math.round(r.examplesPerSecond)} ex/s`;
    if (this.mode === 'bar') {
      const now = Date.now();
      if (now - this.lastDraw < 100 && r.step !== r.steps) return;
      this.lastDraw = now;
      this.out.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else if (r.step % this.every === 0 || r.step === r.steps) {
      this.out.write(`${line}\n`);
    }
  }

  epoch(r: EpochReport): void {
    if (this.mode === 'none') return;
    if (this.drawn) {
      this.out.write('\r\x1b[K');
      this.drawn = false;
    }
    const acc = r.testAccuracy === undefined ? '' : `  test accuracy ${(100 * r.testAccuracy).toFixed(2)}%`;
    this.out.write(`epoch ${r.epoch}/${r.epochs}  loss ${r.loss.toFixed(4)}  ${r.seconds.toFixed(1)} s  ${Math.round(r.examplesPerSecond)} ex/s${acc}\n`);
  }

  message(text: string): void {
    if (this.mode === 'none') return;
    if (this.drawn) {
      this.out.write('\r\x1b[K');
      this.drawn = false;
    }
    this.out.write(`${text}\n`);
  }
}

function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (filled === width ? '=' : '>') : ''}${' '.repeat(width - filled)}]`;
}
