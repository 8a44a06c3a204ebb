/**
 * The one clock that the Azure emulator and the durable driver share.
 *
 * In `manual` mode time stands still until someone sets or advances it: a
 * 12-hour durable timer then fires as soon as the driver advances the clock.
 * In `real` mode it follows the wall clock plus an offset, so `set` and
 * `advance` still work (the CLI without --manual-clock).
 *
 * `sleep` is what the app waits with (its ARM budget, injected as the host's
 * timers would be). In `real` mode it is a timer. In `manual` mode nothing
 * moves time by itself: a sleep made inside `runAs(owner)` (the durable driver
 * runs each activity so) waits for the owner to move the clock, which the
 * driver does once every activity of a batch is asleep; sleeps with no owner
 * (direct adapter calls in a test, an HTTP handler) move the clock to the
 * earliest of their wake-ups, as time would pass while they waited. Neither
 * moves it while a request is on its way (`hold`): the emulator must see each
 * request at the instant it was sent.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type ClockMode = 'manual' | 'real';

export interface ClockSnapshot {
  mode: ClockMode;
  /** manual: the current instant; real: ignored. */
  nowIso?: string;
  /** real: milliseconds added to the wall clock. */
  offsetMs?: number;
}

export type ClockListener = (now: Date) => void;

interface Sleeper {
  wakeAtMs: number;
  owner: string | undefined;
  wake: () => void;
}

export class VirtualClock {
  private manualNowMs: number;
  private offsetMs: number;
  private readonly listeners = new Set<ClockListener>();
  private readonly sleepers = new Set<Sleeper>();
  private readonly sleepListeners = new Set<() => void>();
  private readonly owners = new AsyncLocalStorage<string>();
  private holds = 0;
  private unownedCheckQueued = false;

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
    this.wakeDue();
    for (const listener of this.listeners) listener(now);
    return now;
  }

  advance(ms: number): Date {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance the clock by ${ms} ms`);
    return this.set(new Date(this.nowMs() + ms));
  }

  /** Resolves once the clock reads `ms` later than now (see the header for who moves it). */
  sleep(ms: number): Promise<void> {
    const wakeAtMs = this.nowMs() + Math.max(0, Number.isFinite(ms) ? ms : 0);
    if (wakeAtMs <= this.nowMs()) return Promise.resolve();
    const owner = this.owners.getStore();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const sleeper: Sleeper = {
        wakeAtMs,
        owner,
        wake: () => {
          if (timer) clearTimeout(timer);
          this.sleepers.delete(sleeper);
          resolve();
        },
      };
      this.sleepers.add(sleeper);
      if (this.mode === 'real') timer = setTimeout(() => sleeper.wake(), wakeAtMs - this.nowMs());
      this.sleepChanged();
    });
  }

  /** Runs `send` (a request on its way); time does not move for sleepers until it settles. */
  async hold<T>(send: () => Promise<T>): Promise<T> {
    this.holds += 1;
    try {
      return await send();
    } finally {
      this.holds -= 1;
      this.sleepChanged();
    }
  }

  /** Whether a request is on its way (see hold). */
  isHeld(): boolean {
    return this.holds > 0;
  }

  private sleepChanged(): void {
    for (const listener of this.sleepListeners) listener();
    if (this.mode !== 'manual' || this.unownedCheckQueued) return;
    this.unownedCheckQueued = true;
    // After the current turn: a sleeper just woken may be about to send (and hold), not to sleep again.
    setImmediate(() => {
      this.unownedCheckQueued = false;
      if (this.holds > 0) return;
      let next: number | undefined;
      for (const sleeper of this.sleepers) if (sleeper.owner === undefined && (next === undefined || sleeper.wakeAtMs < next)) next = sleeper.wakeAtMs;
      if (next !== undefined) this.set(new Date(Math.max(next, this.nowMs())));
    });
  }

  /** Runs `work` as `owner`: its sleeps wait for someone (the driver) to move the clock. */
  runAs<T>(owner: string, work: () => Promise<T>): Promise<T> {
    return this.owners.run(owner, work);
  }

  /** The owners with at least one sleep pending. */
  sleepingOwners(): Set<string> {
    const owners = new Set<string>();
    for (const sleeper of this.sleepers) if (sleeper.owner !== undefined) owners.add(sleeper.owner);
    return owners;
  }

  /** The earliest wake-up among the sleeps of these owners. */
  nextWakeMs(owners: ReadonlySet<string>): number | undefined {
    let next: number | undefined;
    for (const sleeper of this.sleepers) {
      if (sleeper.owner !== undefined && owners.has(sleeper.owner) && (next === undefined || sleeper.wakeAtMs < next)) next = sleeper.wakeAtMs;
    }
    return next;
  }

  /** Called whenever a sleep starts or a hold ends; returns an unsubscribe function. */
  onSleep(listener: () => void): () => void {
    this.sleepListeners.add(listener);
    return () => this.sleepListeners.delete(listener);
  }

  private wakeDue(): void {
    const nowMs = this.nowMs();
    const due = [...this.sleepers].filter((sleeper) => sleeper.wakeAtMs <= nowMs).sort((a, b) => a.wakeAtMs - b.wakeAtMs);
    for (const sleeper of due) sleeper.wake();
  }

  /** Called after every set/advance; returns an unsubscribe function. */
  onChange(listener: ClockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
