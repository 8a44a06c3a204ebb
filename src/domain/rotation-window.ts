/**
 * Rotation windows: the days of the week and UTC hours in which keys may be
 * regenerated (for example weekdays 08:00-17:00, so that people are around
 * when consumers pick up a new key). Pure: callers pass `now`.
 *
 * Written as text in the app settings, e.g. `Mon-Fri 08:00-17:00` or
 * `Mon,Wed 22:00-02:00; Sat 10:00-12:00` (several windows separated by `;`,
 * a window whose end is not after its start runs past midnight into the next day).
 */

export interface RotationWindow {
  /** UTC days of the week the window starts on: 0 Sunday ... 6 Saturday. */
  days: number[];
  /** Minutes after 00:00 UTC the window opens. */
  startMinute: number;
  /** Minutes after 00:00 UTC it closes (1440 = midnight); not after the start: it closes the next day. */
  endMinute: number;
}

export type WindowDecision = { open: true } | { open: false; opensAt: Date };

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** Parses `Mon-Fri 08:00-17:00; Sat 10:00-12:00`; throws an Error whose message says what is expected. */
export function parseRotationWindows(text: string): RotationWindow[] {
  const parts = text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) throw new Error(`expected windows like "Mon-Fri 08:00-17:00" (several separated by ";"), got "${text}"`);
  return parts.map(parseWindow);
}

function parseWindow(text: string): RotationWindow {
  const match = /^([A-Za-z,-]+)\s+(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})$/.exec(text);
  const expected = `expected "<days> HH:MM-HH:MM" (UTC) such as "Mon-Fri 08:00-17:00", got "${text}"`;
  if (!match) throw new Error(expected);
  const [, dayText, startHour, startMin, endHour, endMin] = match;
  const startMinute = minuteOfDay(Number(startHour), Number(startMin));
  const endMinute = minuteOfDay(Number(endHour), Number(endMin));
  if (startMinute === null || endMinute === null || startMinute === 1440) throw new Error(`${expected} (hours 00-24, minutes 00-59)`);
  return { days: parseDays(dayText!, text), startMinute, endMinute };
}

function minuteOfDay(hour: number, minute: number): number | null {
  if (minute > 59 || hour > 24 || (hour === 24 && minute !== 0)) return null;
  return hour * 60 + minute;
}

function parseDays(text: string, window: string): number[] {
  const days = new Set<number>();
  for (const item of text.toLowerCase().split(',')) {
    const [from, to, ...rest] = item.split('-');
    const first = dayIndex(from);
    const last = to === undefined ? first : dayIndex(to);
    if (rest.length || first === null || last === null) {
      const bad = rest.length ? item : first === null ? from : to;
      throw new Error(`"${bad}" in "${window}" is not a day or range of days (Mon, Tue, Wed, Thu, Fri, Sat, Sun; e.g. Mon-Fri or Sat,Sun)`);
    }
    // A range may wrap over the weekend: Fri-Mon is Fri, Sat, Sun, Mon.
    for (let day = first; ; day = (day + 1) % 7) {
      days.add(day);
      if (day === last) break;
    }
  }
  return [...days].sort((a, b) => a - b);
}

function dayIndex(text: string | undefined): number | null {
  const index = DAY_NAMES.indexOf((text ?? '').slice(0, 3) as (typeof DAY_NAMES)[number]);
  return index >= 0 && (text ?? '').length >= 3 ? index : null;
}

/** The windows as an operator wrote them, normalised: `Mon-Fri 08:00-17:00 UTC`. */
export function describeRotationWindows(windows: readonly RotationWindow[] | undefined): string {
  if (!windows || windows.length === 0) return 'any time';
  return `${windows.map((window) => `${describeDays(window.days)} ${clock(window.startMinute)}-${clock(window.endMinute)}`).join('; ')} UTC`;
}

function describeDays(days: number[]): string {
  const name = (day: number) => DAY_NAMES[day]!.charAt(0).toUpperCase() + DAY_NAMES[day]!.slice(1);
  const runs: string[] = [];
  for (let i = 0; i < days.length; ) {
    let j = i;
    while (j + 1 < days.length && days[j + 1] === days[j]! + 1) j += 1;
    runs.push(j > i + 1 ? `${name(days[i]!)}-${name(days[j]!)}` : days.slice(i, j + 1).map(name).join(','));
    i = j + 1;
  }
  return runs.join(',');
}

function clock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/**
 * May a key be regenerated now? With no windows configured, always. Else
 * now must fall inside one; if not, the answer says when the next one opens.
 */
export function regenerationWindow(windows: readonly RotationWindow[] | undefined, now: Date): WindowDecision {
  if (!windows || windows.length === 0) return { open: true };
  const nowMs = now.getTime();
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  let opensAt = Infinity;
  // Yesterday's window may run past midnight into today; a week ahead always finds the next opening.
  for (let offset = -1; offset <= 7; offset += 1) {
    const dayStart = today + offset * DAY_MS;
    const weekday = new Date(dayStart).getUTCDay();
    for (const window of windows) {
      if (!window.days.includes(weekday)) continue;
      const start = dayStart + window.startMinute * MINUTE_MS;
      const end = dayStart + (window.endMinute > window.startMinute ? window.endMinute : window.endMinute + 1440) * MINUTE_MS;
      if (start <= nowMs && nowMs < end) return { open: true };
      if (start > nowMs) opensAt = Math.min(opensAt, start);
    }
  }
  return { open: false, opensAt: new Date(opensAt) };
}
