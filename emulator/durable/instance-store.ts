/**
 * What the driver keeps per orchestration instance, and its persistence: one JSON file
 * per instance, replaced atomically (write to a temporary file, then rename). The
 * driver decides when: see its persist and saveChanged.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { HistoryEvent } from './history.js';
import type { StatusSource } from './status.js';

export interface PendingActivity {
  executionId: string;
  taskScheduledId: number;
  name: string;
  /** The input as the library serialised it (what the trigger receives). */
  input: unknown;
}

export interface PendingTimer {
  executionId: string;
  timerId: number;
  fireAt: string;
}

export interface InstanceCounters {
  /** Orchestrator episodes (replays) run for this instance, over all generations. */
  episodes: number;
  /** History events of the current generation. */
  historyEvents: number;
  /** Activity executions by function name, re-runs after a crash included. */
  activityCalls: Record<string, number>;
  /** Timers the host created (TimerCreated), long-timer slices and retry backoffs included. */
  timersCreated: number;
  timersFired: number;
  /** continueAsNew generations after the first. */
  generations: number;
  /** Wall-clock time spent in the orchestrator function and the host-side replay. */
  replayWallClockMs: number;
  /** Wall-clock time spent running activities. */
  activityWallClockMs: number;
  /** History events of the earlier generations (continueAsNew), so that a generation's fresh history hides no growth. */
  historyEventsOfEarlierGenerations: number;
  /**
   * Per episode: the history events it replayed (deterministic) and its
   * wall-clock replay time: the first, the last and the largest, and the
   * first and last few (REPLAY_SAMPLE) so that a ratio of their medians is
   * not one noisy sample against another.
   */
  episodeReplay: { first: EpisodeReplay | null; last: EpisodeReplay | null; largest: EpisodeReplay | null; firstFew: EpisodeReplay[]; lastFew: EpisodeReplay[] };
}

/** How many first and last episodes episodeReplay keeps. */
export const REPLAY_SAMPLE = 15;

export interface EpisodeReplay {
  /** History events handed to the orchestrator (past and new). */
  events: number;
  /** Wall-clock time of the orchestrator function and the host-side replay. */
  ms: number;
}

export interface InstanceRecord extends StatusSource {
  executionId: string;
  /** The committed history of the current generation. */
  history: HistoryEvent[];
  /** Messages that arrived and wait for the next episode (the host's control queue). */
  inbox: HistoryEvent[];
  pendingActivities: PendingActivity[];
  pendingTimers: PendingTimer[];
  /** External events the orchestration waits for, as of its last episode. */
  waitingForEvents: string[];
  counters: InstanceCounters;
  /** Order of creation, for deterministic processing. */
  sequence: number;
}

export function newCounters(): InstanceCounters {
  return {
    episodes: 0,
    historyEvents: 0,
    activityCalls: {},
    timersCreated: 0,
    timersFired: 0,
    generations: 0,
    replayWallClockMs: 0,
    activityWallClockMs: 0,
    historyEventsOfEarlierGenerations: 0,
    episodeReplay: { first: null, last: null, largest: null, firstFew: [], lastFew: [] },
  };
}

export class InstanceStore {
  private readonly directory: string | undefined;

  constructor(stateDir: string | undefined, taskHub: string) {
    this.directory = stateDir ? join(stateDir, taskHub, 'instances') : undefined;
    if (this.directory) mkdirSync(this.directory, { recursive: true });
  }

  get persistent(): boolean {
    return this.directory !== undefined;
  }

  loadAll(): InstanceRecord[] {
    if (!this.directory) return [];
    const records: InstanceRecord[] = [];
    for (const file of readdirSync(this.directory)) {
      if (!file.endsWith('.json')) continue;
      records.push(JSON.parse(readFileSync(join(this.directory, file), 'utf8')) as InstanceRecord);
    }
    return records.sort((a, b) => a.sequence - b.sequence);
  }

  save(record: InstanceRecord): void {
    if (!this.directory) return;
    const file = this.fileFor(record.instanceId);
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, JSON.stringify(record));
    renameSync(temporary, file);
  }

  delete(instanceId: string): void {
    if (!this.directory) return;
    rmSync(this.fileFor(instanceId), { force: true });
  }

  private fileFor(instanceId: string): string {
    return join(this.directory as string, `${encodeURIComponent(instanceId)}.json`);
  }
}
