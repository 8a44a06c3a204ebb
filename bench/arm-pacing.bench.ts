/**
 * The peak ARM requests one subscription gets when 100 rotations start at
 * once in it (emulator with Azure's throttling, durable driver, real SDKs):
 * reads and writes in one virtual second and one virtual minute, and the 429s.
 * Run with `npm run bench`; the numbers are printed once.
 */
import { bench, describe } from 'vitest';
import { ArmRequestLog } from '../test/helpers/arm-request-log.js';
import { HOUR_MS, RotationHarness } from '../test/workflow/rotation-harness.js';

const ROTATIONS = 100;

async function rotateAtOnce(): Promise<void> {
  const names = Array.from({ length: ROTATIONS }, (_, index) => `acct${String(index).padStart(3, '0')}`);
  // Read only once requests are answered, by which time the harness exists.
  const requests = new ArmRequestLog(() => harness.clock.nowMs());
  const harness = await RotationHarness.start({ accounts: names.map((name) => ({ name })), emulatorLog: requests.log });
  try {
    for (const name of names) await harness.seedSecretByHand(name, 'primary');
    requests.requests.length = 0;
    const startedMs = harness.clock.nowMs();
    for (const name of names) await harness.startRotation(name);
    await harness.runUntil(new Date(startedMs + 3 * 24 * HOUR_MS));
    const outcomes: Record<string, number> = {};
    let lastFinishedMs = startedMs;
    for (const name of names) {
      const output = (await harness.result(name)).output;
      outcomes[output?.outcome ?? 'running'] = (outcomes[output?.outcome ?? 'running'] ?? 0) + 1;
      if (output?.finishedAt) lastFinishedMs = Math.max(lastFinishedMs, Date.parse(output.finishedAt));
    }
    console.log(
      JSON.stringify(
        {
          rotations: ROTATIONS,
          outcomes,
          virtualHoursToLastDone: (lastFinishedMs - startedMs) / HOUR_MS,
          armRequests: requests.count(),
          arm429s: requests.count((request) => request.status === 429),
          // Activities that would have waited too long for a turn: they failed before sending, and Durable retried them.
          activitiesRefusedByBudget: harness.logLines.filter((line) => /transient failure, Durable will retry: The app's ARM budget/.test(line)).length,
          peakReadsPerSecond: requests.peak('reads'),
          peakWritesPerSecond: requests.peak('writes'),
          peakReadsPerMinute: requests.peak('reads', { windowMs: 60_000 }),
          peakWritesPerMinute: requests.peak('writes', { windowMs: 60_000 }),
        },
        null,
        2,
      ),
    );
  } finally {
    await harness.close();
  }
}

describe('ARM pacing', () => {
  bench(`${ROTATIONS} rotations started at once in one subscription`, rotateAtOnce, { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 });
});
