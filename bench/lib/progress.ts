/** A one-line progress bar on stderr: `label [#####.....] 52% 520,000/1,000,000 48,211/s`. */
export class Progress {
  readonly #started = performance.now();
  #lastDraw = 0;
  #drawn = -1;
  readonly #tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    const now = performance.now();
    // A redraw at most every 100 ms on a terminal, every 10 s in a log file.
    if (done === this.#drawn || (done < this.total && now - this.#lastDraw < (this.#tty ? 100 : 10_000))) return;
    this.#lastDraw = now;
    this.#drawn = done;
    const fraction = this.total === 0 ? 1 : done / this.total;
    const width = 30;
    const filled = Math.round(fraction * width);
    const rate = done / Math.max((now - this.#started) / 1000, 1e-3);
    const line = `${this.label.padEnd(14)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${fmt(done)}/${fmt(this.total)} ${fmt(Math.round(rate))}/s`;
    process.stderr.write(this.#tty ? `\r${line}` : `${line}\n`);
  }

  /** Draws the final state and ends the line; returns the seconds spent. */
  done(): number {
    this.update(this.total);
    if (this.#tty) process.stderr.write('\n');
    return (performance.now() - this.#started) / 1000;
  }
}

export function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
