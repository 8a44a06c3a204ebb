/**
 * Registers the rotation orchestration and its activities with the Functions
 * host. The story lives in src/workflow/rotate-account.ts; the I/O in src/activities.
 */
import * as df from 'durable-functions';
import type { ActivityHandler as DurableActivityHandler } from 'durable-functions';
import { activityHandlers } from '../src/activities/index.js';
import { HISTORY_RECORD_ORCHESTRATOR, historyRecordOrchestrator } from '../src/workflow/history-record.js';
import { rotateAccountOrchestrator } from '../src/workflow/rotate-account.js';
import { ROTATION_ORCHESTRATOR } from '../src/workflow/rotation-types.js';

df.app.orchestration(ROTATION_ORCHESTRATOR, rotateAccountOrchestrator);
df.app.orchestration(HISTORY_RECORD_ORCHESTRATOR, historyRecordOrchestrator);

for (const [name, handler] of Object.entries(activityHandlers)) {
  df.app.activity(name, { handler: handler as DurableActivityHandler });
}
