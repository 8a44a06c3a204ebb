import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emulator/clock.js';

describe('VirtualClock', () => {
  it('when manual, then time stands still until advanced', () => {
    const clock = new VirtualClock('manual', '2026-01-01T00:00:00Z');
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    clock.advance(12 * 3600_000);
    expect(clock.now().toISOString()).toBe('2026-01-01T12:00:00.000Z');
  });

  it('when asked to go back in time, then it refuses and keeps its time', () => {
    const clock = new VirtualClock('manual', '2026-01-01T00:00:00Z');
    expect(() => clock.set('2025-12-31T00:00:00Z')).toThrow(/cannot go back/);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('when real, then a set moves the offset and the snapshot restores it', () => {
    const clock = new VirtualClock('real');
    clock.advance(3600_000);
    const restored = VirtualClock.fromSnapshot(clock.snapshot());
    expect(Math.abs(restored.nowMs() - Date.now() - 3600_000)).toBeLessThan(1000);
  });

  it('when changed, then listeners hear the new time', () => {
    const clock = new VirtualClock('manual', '2026-01-01T00:00:00Z');
    const heard: string[] = [];
    clock.onChange((now) => heard.push(now.toISOString()));
    clock.advance(1000);
    expect(heard).toEqual(['2026-01-01T00:00:01.000Z']);
  });

  it('when manual and a sleep has no owner, then the clock moves to its wake-up, as time would pass while it waited', async () => {
    const clock = new VirtualClock('manual', '2026-01-01T00:00:00Z');

    await clock.sleep(1500);

    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:01.500Z');
  });

  it('when a sleep belongs to an owner (an activity of the driver), then it waits until someone moves the clock', async () => {
    const clock = new VirtualClock('manual', '2026-01-01T00:00:00Z');
    let woke = false;
    const sleeping = clock.runAs('activity-1', () => clock.sleep(1000).then(() => void (woke = true)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(woke).toBe(false);
    expect([...clock.sleepingOwners()]).toEqual(['activity-1']);
    expect(clock.nextWakeMs(new Set(['activity-1']))).toBe(Date.parse('2026-01-01T00:00:01Z'));

    clock.advance(1000);
    await sleeping;

    expect(woke).toBe(true);
    expect(clock.sleepingOwners().size).toBe(0);
  });

  it('when a request is on its way (held), then no sleeper moves the clock until it settles', async () => {
    const clock = new VirtualClock('manual', '2026-01-01T00:00:00Z');
    let release!: () => void;
    const held = clock.hold(() => new Promise<void>((resolve) => (release = resolve)));
    const sleeping = clock.sleep(1000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.isHeld()).toBe(true);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');

    release();
    await held;
    await sleeping;

    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:01.000Z');
  });
});
