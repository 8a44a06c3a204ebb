/**
 * The app's own budget of Azure Resource Manager requests, per subscription:
 * ARM_READS_PER_SECOND reads and ARM_WRITES_PER_SECOND writes, shared by every
 * activity of the worker process, so that a fleet's rotations started at once
 * drain at a rate ARM accepts instead of meeting its 429s.
 *
 * What ARM does (Microsoft Learn, "Understand how Azure Resource Manager
 * throttles requests"): a token bucket per subscription, principal and
 * operation type (reads 250 refilled 25/s, writes 200 refilled 10/s); every
 * answer says what is left in `x-ms-ratelimit-remaining-subscription-reads`
 * (reads) or `-writes` (the rest); over the limit it answers 429 with
 * `Retry-After`, and a request sent before that time is refused again.
 * POST actions (listKeys, regenerateKey) count as writes.
 *
 * The budget is a budget of one second rather than a bucket refilled
 * continuously: a classic bucket of N tokens refilled N per second lets 2N
 * requests through in the second it starts full, and the budget is meant never
 * to be exceeded in any second. Here a request goes only when fewer than N went
 * in the second before it: N at once, then N per second. It takes less when
 * ARM's remaining count runs low (other callers share the subscription, or
 * other instances of this app): at most a tenth of what is left per second,
 * at least one. After a 429 it sends nothing of that type until Retry-After.
 *
 * A request waits for its turn when the wait is short (MAX_WAIT_IN_MS) and
 * otherwise fails at once, before sending, with a TransientError carrying
 * Retry-After: the activity ends and the orchestration waits with durable
 * timers instead of holding a worker. Polls of an operation already started
 * wait longer (MAX_POLL_WAIT_IN_MS): giving up one would cost the operation's handle.
 *
 * Time and sleeping are injected: the wall clock in Azure, the emulator's
 * virtual clock in tests and the demo.
 */
import type { PipelinePolicy, PipelineResponse } from '@azure/core-rest-pipeline';
import { TransientError, parseRetryAfter } from '../errors.js';

/** A request waits at most this long for its turn; longer, it fails as transient. */
export const MAX_WAIT_IN_MS = 5_000;
/** A poll of an operation already started waits at most this long. */
export const MAX_POLL_WAIT_IN_MS = 60_000;
/** When ARM's remaining count is low, spend at most this share of it per second. */
export const REMAINING_SPREAD_IN_SECONDS = 10;
const WINDOW_MS = 1_000;

export type ArmRequestType = 'reads' | 'writes';

export interface ArmBudgetOptions {
  readsPerSecond: number;
  writesPerSecond: number;
  /** Milliseconds since the epoch (the emulator's clock in tests). */
  nowMs?: () => number;
  /** Resolves after `ms` on the same clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Runs a request on its way: a virtual clock stays still meanwhile, so the emulator sees it when it was sent. */
  hold?: <T>(send: () => Promise<T>) => Promise<T>;
}

/** GET and HEAD are reads; everything else (PUT, PATCH, DELETE, POST actions) spends the write budget. */
export function armRequestType(method: string): ArmRequestType {
  const upper = method.toUpperCase();
  return upper === 'GET' || upper === 'HEAD' ? 'reads' : 'writes';
}

const REMAINING_HEADER: Record<ArmRequestType, string> = {
  reads: 'x-ms-ratelimit-remaining-subscription-reads',
  writes: 'x-ms-ratelimit-remaining-subscription-writes',
};
const SETTING: Record<ArmRequestType, string> = { reads: 'ARM_READS_PER_SECOND', writes: 'ARM_WRITES_PER_SECOND' };

/** One subscription's budget of one request type. */
class TypeBudget {
  /** When the last requests went (at most `perSecond` of them), oldest first. */
  readonly #sentAtMs: number[] = [];
  /** Requests waiting for their turn, in arrival order. */
  readonly #waiting: object[] = [];
  #remaining: number | undefined;
  #pausedUntilMs = 0;

  constructor(readonly perSecond: number) {}

  /** What may go per second now: the budget, less when ARM says little is left. */
  limit(): number {
    if (this.#remaining === undefined) return this.perSecond;
    return Math.max(1, Math.min(this.perSecond, Math.floor(this.#remaining / REMAINING_SPREAD_IN_SECONDS)));
  }

  /** When the request at `position` in the queue may go, if nothing changes. */
  turnAtMs(position: number, nowMs: number): number {
    const limit = this.limit();
    const sent = this.#sentAtMs.slice(-limit);
    let at = Math.max(nowMs, this.#pausedUntilMs);
    for (let index = 0; index <= position; index += 1) {
      if (sent.length >= limit) at = Math.max(at, sent[sent.length - limit]! + WINDOW_MS);
      sent.push(at);
    }
    return at;
  }

  enqueue(ticket: object): void {
    this.#waiting.push(ticket);
  }

  position(ticket: object): number {
    return this.#waiting.indexOf(ticket);
  }

  leave(ticket: object): void {
    const index = this.#waiting.indexOf(ticket);
    if (index >= 0) this.#waiting.splice(index, 1);
  }

  spend(ticket: object, nowMs: number): void {
    this.leave(ticket);
    this.#sentAtMs.push(nowMs);
    if (this.#sentAtMs.length > this.perSecond) this.#sentAtMs.splice(0, this.#sentAtMs.length - this.perSecond);
  }

  heard(remaining: number | undefined, retryAfterMs: number | undefined, nowMs: number): void {
    if (remaining !== undefined) this.#remaining = remaining;
    if (retryAfterMs !== undefined) this.#pausedUntilMs = Math.max(this.#pausedUntilMs, nowMs + retryAfterMs);
  }
}

/** The budgets of every subscription this process calls, one per runtime (one per worker process in Azure). */
export class ArmBudget {
  readonly #budgets = new Map<string, TypeBudget>();
  readonly #perSecond: Record<ArmRequestType, number>;
  readonly #nowMs: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #hold: <T>(send: () => Promise<T>) => Promise<T>;

  constructor(options: ArmBudgetOptions) {
    this.#perSecond = { reads: options.readsPerSecond, writes: options.writesPerSecond };
    this.#nowMs = options.nowMs ?? (() => Date.now());
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#hold = options.hold ?? ((send) => send());
  }

  /** Sends a request that took its turn. */
  send<T>(request: () => Promise<T>): Promise<T> {
    return this.#hold(request);
  }

  /**
   * Waits until a request of this type may go to this subscription, or throws
   * a TransientError (with Retry-After) when that is further off than the
   * request may wait. Nothing is sent over the budget either way.
   */
  async take(subscriptionId: string, type: ArmRequestType, options: { maxWaitInMs?: number } = {}): Promise<void> {
    const budget = this.#budget(subscriptionId, type);
    const maxWaitInMs = options.maxWaitInMs ?? MAX_WAIT_IN_MS;
    const ticket = {};
    budget.enqueue(ticket);
    const startedMs = this.#nowMs();
    try {
      for (;;) {
        const nowMs = this.#nowMs();
        const turnMs = budget.turnAtMs(budget.position(ticket), nowMs);
        if (turnMs <= nowMs) {
          budget.spend(ticket, nowMs);
          return;
        }
        if (turnMs - startedMs > maxWaitInMs) throw this.#spent(subscriptionId, type, budget, turnMs - nowMs);
        await this.#sleep(turnMs - nowMs);
      }
    } finally {
      budget.leave(ticket);
    }
  }

  /** What an answer said about the subscription's budget: the remaining count, or a 429's Retry-After. */
  heard(subscriptionId: string, type: ArmRequestType, response: Pick<PipelineResponse, 'status' | 'headers'>): void {
    const remaining = Number.parseInt(response.headers.get(REMAINING_HEADER[type]) ?? '', 10);
    const retryAfterMs = response.status === 429 ? parseRetryAfter(response.headers.get('retry-after'), this.#nowMs()) : undefined;
    this.#budget(subscriptionId, type).heard(Number.isFinite(remaining) ? remaining : undefined, retryAfterMs, this.#nowMs());
  }

  /** How long until a request of this type to this subscription could go, if one came now. */
  nextTurnInMs(subscriptionId: string, type: ArmRequestType): number {
    const nowMs = this.#nowMs();
    return this.#budget(subscriptionId, type).turnAtMs(0, nowMs) - nowMs;
  }

  #budget(subscriptionId: string, type: ArmRequestType): TypeBudget {
    const key = `${subscriptionId.toLowerCase()}|${type}`;
    let budget = this.#budgets.get(key);
    if (!budget) {
      budget = new TypeBudget(this.#perSecond[type]);
      this.#budgets.set(key, budget);
    }
    return budget;
  }

  #spent(subscriptionId: string, type: ArmRequestType, budget: TypeBudget, waitMs: number): TransientError {
    const limit = budget.limit();
    const why = limit < budget.perSecond ? `ARM reports few ${type} left, so the app sends ${limit} per second instead of ${budget.perSecond} (${SETTING[type]})` : `${budget.perSecond} per second (${SETTING[type]})`;
    return new TransientError(
      `The app's ARM budget of ${type} for subscription ${subscriptionId} is spent for the next ${Math.ceil(waitMs / 1000)} s: ${why}. Nothing was sent; the rotation tries again later.`,
      { code: 'ArmBudgetSpent', operation: `send an ARM ${type === 'reads' ? 'read' : 'write'}`, resource: subscriptionId, retryAfterInMs: Math.ceil(waitMs / 1000) * 1000 },
    );
  }
}

/**
 * The pipeline policy that spends the budget. Placed after the SDK's retry
 * policy, so that every attempt actually sent takes a turn: retries and the
 * polls of long-running operations included.
 */
export function armBudgetPolicy(budget: ArmBudget, subscriptionId: string): PipelinePolicy {
  return {
    name: 'armBudgetPolicy',
    async sendRequest(request, next) {
      const type = armRequestType(request.method);
      const isPoll = type === 'reads' && /\/(operationsStatus|operationResults)\//i.test(new URL(request.url).pathname);
      await budget.take(subscriptionId, type, isPoll ? { maxWaitInMs: MAX_POLL_WAIT_IN_MS } : {});
      const response = await budget.send(() => next(request));
      budget.heard(subscriptionId, type, response);
      const waitMs = response.status === 429 ? budget.nextTurnInMs(subscriptionId, type) : 0;
      // A short Retry-After is the SDK's to wait out (its retry comes back through here); a long one ends the activity.
      if (waitMs > (isPoll ? MAX_POLL_WAIT_IN_MS : MAX_WAIT_IN_MS)) {
        throw new TransientError(
          `Azure Resource Manager throttled a ${request.method} for subscription ${subscriptionId} (429): nothing of the type is sent for ${Math.ceil(waitMs / 1000)} s (Retry-After).`,
          { statusCode: 429, code: 'ArmThrottled', operation: `send an ARM ${type === 'reads' ? 'read' : 'write'}`, resource: subscriptionId, retryAfterInMs: Math.ceil(waitMs / 1000) * 1000 },
        );
      }
      return response;
    },
  };
}
