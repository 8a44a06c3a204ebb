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
});
