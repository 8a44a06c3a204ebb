/**
 * A finished rotation kept for the history: the record is the orchestration's
 * input and its output, nothing else. One instance per earlier rotation lets
 * the task hub itself hold the history (and purge it) while each account keeps
 * one current rotation instance.
 */
import type { OrchestrationContext } from 'durable-functions';

export const HISTORY_RECORD_ORCHESTRATOR = 'rotationHistoryRecord';

// eslint-disable-next-line require-yield -- nothing to wait for: it completes in its first episode.
export function* historyRecordOrchestrator(context: OrchestrationContext): Generator<never, unknown, unknown> {
  return context.df.getInput();
}
