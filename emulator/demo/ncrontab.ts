/**
 * The occurrences of the app's ROTATION_SCHEDULE in virtual time, for the
 * demo runner's scheduled timer. Reads the subset of NCRONTAB that the app's
 * own settings check accepts (six fields, seconds first, UTC; `*`, numbers,
 * month and weekday names, ranges, lists and steps) and refuses, with a
 * clear error, what that subset leaves open: a day of the month together
 * with a day of the week (cron dialects disagree on AND or OR).
 */
import { NCRONTAB_FIELDS } from '../../src/config.js';

const FIELDS = NCRONTAB_FIELDS;

/** Look this far ahead for the next occurrence (a schedule such as 0 0 0 29 feb * fires every four years). */
const SEARCH_DAYS = 8 * 366;

export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';
}

export interface Schedule {
  /** The first occurrence strictly after `afterMs`. */
  nextAfter(afterMs: number): number;
}

export function parseSchedule(expression: string): Schedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6) throw new ScheduleError(`"${expression}" is not a six-field NCRONTAB expression ({second} {minute} {hour} {day} {month} {day-of-week})`);
  const [seconds, minutes, hours, days, months, weekdays] = parts.map((part, index) => allowed(part, FIELDS[index]!, expression));
  if (parts[3] !== '*' && parts[5] !== '*') {
    throw new ScheduleError(`"${expression}" restricts both the day of the month and the day of the week; the scheduled timer supports one of them (use * for the other)`);
  }
  const sortedHours = [...hours!].sort((a, b) => a - b);
  const sortedMinutes = [...minutes!].sort((a, b) => a - b);
  const sortedSeconds = [...seconds!].sort((a, b) => a - b);
  return {
    nextAfter(afterMs: number): number {
      const after = new Date(afterMs);
      const firstDay = Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate());
      for (let day = 0; day <= SEARCH_DAYS; day += 1) {
        const dayStart = firstDay + day * 86_400_000;
        const date = new Date(dayStart);
        if (!months!.has(date.getUTCMonth() + 1) || !days!.has(date.getUTCDate()) || !weekdays!.has(date.getUTCDay())) continue;
        for (const hour of sortedHours) {
          for (const minute of sortedMinutes) {
            for (const second of sortedSeconds) {
              const at = dayStart + ((hour * 60 + minute) * 60 + second) * 1000;
              if (at > afterMs) return at;
            }
          }
        }
      }
      throw new ScheduleError(`"${expression}" has no occurrence in the ${SEARCH_DAYS} days after ${after.toISOString()}`);
    },
  };
}

function allowed(field: string, spec: (typeof FIELDS)[number], expression: string): Set<number> {
  const refuse = (): never => {
    throw new ScheduleError(`the ${spec.name} field "${field}" of "${expression}" is not valid (expected *, numbers ${spec.min}-${spec.max}, ranges, lists or steps)`);
  };
  const value = (text: string): number => {
    if (/^\d+$/.test(text)) {
      const number = Number(text);
      return number >= spec.min && number <= spec.max ? number : refuse();
    }
    const index = 'names' in spec ? (spec.names as readonly string[]).indexOf(text.toLowerCase()) : -1;
    return index >= 0 ? index + spec.min : refuse();
  };
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepText, ...rest] = part.split('/');
    if (rest.length || range === undefined || range === '') refuse();
    const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) && Number(stepText) > 0 ? Number(stepText) : refuse();
    const [from, to] = range === '*' ? [spec.min, spec.max] : range!.includes('-') ? range!.split('-').map(value) : [value(range!), stepText === undefined ? value(range!) : spec.max];
    if (from === undefined || to === undefined || from > to || range!.split('-').length > 2) refuse();
    for (let v = from!; v <= to!; v += step) values.add(v);
  }
  return values;
}
