/**
 * The one clock that the Azure emulator and the durable driver share.
 *
 * In `manual` mode time stands still until someone sets or advances it: a
 * 12-hour durable timer then fires as soon as the driver advances the clock.
 * In `real` mode it follows the wall clock plus an offset, so `set` and
 * `advance` still work (the CLI without --manual-clock).
 */
export type ClockMode = 'manual' | 'real';

export interface ClockSnapshot {
  mode: ClockMode;
  /** manual: the current instant; real: ignored. */
  nowIso?: string;
  /** real: milliseconds added to the wall clock. */
  offsetMs?: number;
}

export type ClockListener = (now: Date) => void;

export class VirtualClock {
  private manualNowMs: number;
  private offsetMs: number;
  private readonly listeners = new Set<ClockListener>();

  constructor(
    readonly mode: ClockMode = 'manual',
    start: Date | string = new Date(),
  ) {
    const startMs = new Date(start).getTime();
    if (Number.isNaN(startMs)) throw new TypeError(`clock start "${String(start)}" is not a valid date`);
    this.manualNowMs = startMs;
    this.offsetMs = mode === 'real' ? startMs - Date.now() : 0;
  }

  static fromSnapshot(snapshot: ClockSnapshot): VirtualClock {
    if (snapshot.mode === 'manual') return new VirtualClock('manual', snapshot.nowIso ?? new Date());
    const clock = new VirtualClock('real');
    clock.offsetMs = snapshot.offsetMs ?? 0;
    return clock;
  }

  snapshot(): ClockSnapshot {
    return this.mode === 'manual'
      ? { mode: 'manual', nowIso: new Date(this.manualNowMs).toISOString() }
      : { mode: 'real', offsetMs: this.offsetMs };
  }

  nowMs(): number {
    return this.mode === 'manual' ? this.manualNowMs : Date.now() + this.offsetMs;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** Moves the clock to `to`. Moving backwards is refused: timers and usage times rely on it. */
  set(to: Date | string): Date {
    const toMs = new Date(to).getTime();
    if (Number.isNaN(toMs)) throw new TypeError(`"${String(to)}" is not a valid date`);
    if (toMs < this.nowMs()) {
      throw new RangeError(`the clock cannot go back from ${this.now().toISOString()} to ${new Date(toMs).toISOString()}`);
    }
    if (this.mode === 'manual') this.manualNowMs = toMs;
    else this.offsetMs += toMs - this.nowMs();
    const now = this.now();
    for (const listener of this.listeners) listener(now);
    return now;
  }

  advance(ms: number): Date {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance the clock by ${ms} ms`);
    return this.set(new Date(this.nowMs() + ms));
  }

  /** Called after every set/advance; returns an unsubscribe function. */
  onChange(listener: ClockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
