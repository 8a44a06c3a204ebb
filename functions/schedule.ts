/**
 * The rotation schedule: at each ROTATION_SCHEDULE tick (NCRONTAB, UTC),
 * start a rotation for every configured account that is due, within the
 * per-run and per-subscription bounds. The logic is in src/schedule.
 */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { scheduledRotationHandler } from '../src/schedule/timer-handler.js';

app.timer('rotationSchedule', {
  schedule: '%ROTATION_SCHEDULE%',
  extraInputs: [df.input.durableClient()],
  handler: scheduledRotationHandler(),
});
