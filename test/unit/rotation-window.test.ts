import { describe, expect, it } from 'vitest';
import { describeRotationWindows, parseRotationWindows, regenerationWindow } from '../../src/domain/rotation-window.js';
import { loadConfig, settingTargets } from '../../src/config.js';

const weekdays = parseRotationWindows('Mon-Fri 08:00-17:00');
// 2026-05-01 is a Friday.
const at = (iso: string) => new Date(iso);

describe('rotation windows', () => {
  it('when it is a weekday inside working hours, then a key may be regenerated now', () => {
    expect(regenerationWindow(weekdays, at('2026-05-01T08:00:00Z'))).toEqual({ open: true });
    expect(regenerationWindow(weekdays, at('2026-05-01T16:59:59Z'))).toEqual({ open: true });
  });

  it('when it is Friday evening, then the next window opens on Monday at 08:00 UTC', () => {
    expect(regenerationWindow(weekdays, at('2026-05-01T17:00:00Z'))).toEqual({ open: false, opensAt: at('2026-05-04T08:00:00Z') });
    expect(regenerationWindow(weekdays, at('2026-05-03T23:00:00Z'))).toEqual({ open: false, opensAt: at('2026-05-04T08:00:00Z') });
  });

  it('when a window runs past midnight, then the early hours of the next day are inside it', () => {
    const nights = parseRotationWindows('Sat 22:00-02:00');
    expect(regenerationWindow(nights, at('2026-05-03T01:30:00Z'))).toEqual({ open: true });
    expect(regenerationWindow(nights, at('2026-05-03T02:00:00Z'))).toEqual({ open: false, opensAt: at('2026-05-09T22:00:00Z') });
  });

  it('when several windows are given, then the earliest next opening wins and they read back normalised', () => {
    const windows = parseRotationWindows('sat,sun 10:00-12:00; Mon-Wed 09:30-11:00');
    expect(regenerationWindow(windows, at('2026-05-01T12:00:00Z'))).toEqual({ open: false, opensAt: at('2026-05-02T10:00:00Z') });
    expect(describeRotationWindows(windows)).toBe('Sun,Sat 10:00-12:00; Mon-Wed 09:30-11:00 UTC');
    expect(describeRotationWindows([])).toBe('any time');
  });

  it('when no window is configured, then keys may be regenerated any time', () => {
    expect(regenerationWindow([], at('2026-05-02T03:00:00Z'))).toEqual({ open: true });
    expect(regenerationWindow(undefined, at('2026-05-02T03:00:00Z'))).toEqual({ open: true });
  });

  it('when ROTATION_WINDOWS or a target override is not a window, then the setting is named with what is expected', () => {
    const base = {
      KEY_VAULT_URL: 'https://vault.example',
      ROTATION_TARGETS: '["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/orders"]',
    };
    expect(() => loadConfig({ ...base, ROTATION_WINDOWS: 'weekdays 8-17' })).toThrow(/ROTATION_WINDOWS.*HH:MM-HH:MM/);
    expect(() => loadConfig({ ...base, ROTATION_WINDOWS: 'Mon-Fry 08:00-17:00' })).toThrow(/ROTATION_WINDOWS.*"fry" .*not a day/);
    const targets = JSON.stringify([{ resourceId: JSON.parse(base.ROTATION_TARGETS)[0], rotationWindows: 'Mon 25:00-26:00' }]);
    expect(() => loadConfig({ ...base, ROTATION_TARGETS: targets })).toThrow(/ROTATION_TARGETS.*item 0: "rotationWindows"/);
    const config = loadConfig({ ...base, ROTATION_WINDOWS: 'Mon-Fri 08:00-17:00', ROTATION_TARGETS: JSON.stringify([{ resourceId: JSON.parse(base.ROTATION_TARGETS)[0], rotationWindows: 'Sat 10:00-12:00' }]) });
    expect(describeRotationWindows(settingTargets(config)[0]!.rotationWindows)).toBe('Sat 10:00-12:00 UTC');
    expect(describeRotationWindows(config.rotationWindows)).toBe('Mon-Fri 08:00-17:00 UTC');
  });
});
