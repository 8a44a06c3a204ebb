/**
 * The timer trigger's handler: one scheduled run over every configured
 * account (run-schedule.ts). Invalid settings fail the invocation, so the
 * failure shows in the function's monitoring instead of a silent no-op.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import * as df from 'durable-functions';
import type { RotationTarget } from '../config.js';
import { getRuntime, type Runtime } from '../runtime.js';
import { recordScheduleEntry } from '../telemetry.js';
import { runSchedule, type RunSummary } from './run-schedule.js';

export function scheduledRotationHandler(resolveRuntime: () => Runtime = getRuntime) {
  return async (timer: Timer, context: InvocationContext): Promise<RunSummary> => {
    let runtime: Runtime;
    try {
      runtime = resolveRuntime();
    } catch (error) {
      context.error(`Rotation schedule: not run, the app settings are invalid: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
    if (timer.isPastDue) context.warn('Rotation schedule: this run is late (the app was stopped or busy at the scheduled time).');
    let targets: RotationTarget[];
    try {
      targets = await runtime.targets.list();
    } catch (error) {
      // Never a partial or an older list: nothing starts until the list reads whole again; running rotations go on.
      context.error(`Rotation schedule: not run, the target list (${runtime.targets.description}) could not be used, so nothing was started: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
    return runSchedule({
      config: { ...runtime.config, targets },
      client: df.getClient(context),
      secrets: runtime.adapters.keyVault,
      now: () => runtime.now(),
      log: (line, fields) => {
        context.log(line);
        if (fields) recordScheduleEntry(line, fields);
      },
    });
  };
}
