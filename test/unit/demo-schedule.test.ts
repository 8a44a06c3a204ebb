/**
 * The demo runner's scheduled timer: occurrences of ROTATION_SCHEDULE
 * (NCRONTAB, six fields, seconds first, UTC, as the Functions timer trigger
 * reads it: Microsoft Learn, "Timer trigger for Azure Functions", NCRONTAB
 * expressions) in virtual time.
 */
import { describe, expect, it } from 'vitest';
import { parseSchedule } from '../../emulator/demo/ncrontab.js';

const at = (iso: string) => Date.parse(iso);
const next = (expression: string, after: string) => new Date(parseSchedule(expression).nextAfter(at(after))).toISOString();

describe('the scheduled timer (NCRONTAB in virtual time)', () => {
  it('when the schedule is the default 03:00 every day, then the next occurrence is today at 03:00 before it and tomorrow after it', () => {
    expect(next('0 0 3 * * *', '2025-03-03T01:00:00Z')).toBe('2025-03-03T03:00:00.000Z');
    expect(next('0 0 3 * * *', '2025-03-03T03:00:00Z')).toBe('2025-03-04T03:00:00.000Z');
  });

  it('when steps, ranges, lists and names are used, then they select the documented instants', () => {
    expect(next('0 */15 * * * *', '2025-03-03T01:07:00Z')).toBe('2025-03-03T01:15:00.000Z');
    expect(next('30 0 9-17/4 * * mon-fri', '2025-03-07T18:00:00Z')).toBe('2025-03-10T09:00:30.000Z'); // Friday evening -> Monday
    expect(next('0 0 3 1 jan,jul *', '2025-03-03T00:00:00Z')).toBe('2025-07-01T03:00:00.000Z');
    expect(next('0 0 0 29 feb *', '2025-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('when a field is out of range, the expression has five fields, or both day fields are restricted, then it is refused with an error naming the problem', () => {
    expect(() => parseSchedule('0 0 25 * * *')).toThrow(/hour field "25"/);
    expect(() => parseSchedule('0 3 * * *')).toThrow(/six-field NCRONTAB/);
    expect(() => parseSchedule('0 0 3 1 * mon')).toThrow(/both the day of the month and the day of the week/);
  });
});
