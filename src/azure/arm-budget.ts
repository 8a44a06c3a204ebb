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
 * The same budget paces the app's Key Vault requests per vault (Microsoft
 * Learn, "Azure Key Vault service limits": per vault and region, 300 secret
 * creations and 4,000 other transactions in 10 seconds; "Azure Key Vault
 * throttling guidance": over them 429 with Retry-After). The vault is shared
 * with the consumers, whose reads must never be throttled because a fleet's
 * rotations publish at once: the app takes KEY_VAULT_SECRET_SETS_PER_SECOND
 * (default 10, a third of the vault's) and KEY_VAULT_REQUESTS_PER_SECOND
 * (default 100, a quarter). Key Vault sends no remaining count.
 *
 * Time and sleeping are injected: the wall clock in Azure, the emulator's
 * virtual clock in tests and the demo.
 */
import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';
import { TransientError, parseRetryAfter } from '../errors.js';

/** A request waits at most this long for its turn; longer, it fails as transient. */
export const MAX_WAIT_IN_MS = 5_000;
/** A poll of an operation already started waits at most this long. */
export const MAX_POLL_WAIT_IN_MS = 60_000;
/** When ARM's remaining count is low, spend at most this share of it per second. */
export const REMAINING_SPREAD_IN_SECONDS = 10;
const WINDOW_MS = 1_000;

export type ArmRequestType = 'reads' | 'writes';

/** What a budget paces, for its messages and the answers it reads. */
interface BudgetService {
  /** "ARM", "Key Vault". */
  name: string;
  /** What one budget covers: "subscription", "vault". */
  scope: string;
  /** Error codes: the budget refused before sending; the service answered 429 with a long Retry-After. */
  codes: { spent: string; throttled: string };
  types: Record<ArmRequestType, { label: string; one: string; setting: string; remainingHeader?: string }>;
}

const ARM_SERVICE: BudgetService = {
  name: 'ARM',
  scope: 'subscription',
  codes: { spent: 'ArmBudgetSpent', throttled: 'ArmThrottled' },
  types: {
    reads: { label: 'reads', one: 'an ARM read', setting: 'ARM_READS_PER_SECOND', remainingHeader: 'x-ms-ratelimit-remaining-subscription-reads' },
    writes: { label: 'writes', one: 'an ARM write', setting: 'ARM_WRITES_PER_SECOND', remainingHeader: 'x-ms-ratelimit-remaining-subscription-writes' },
  },
};

/** Key Vault's two limits: secret creations (Set Secret, a PUT) are "writes" here, every other transaction a "read". */
const KEY_VAULT_SERVICE: BudgetService = {
  name: 'Key Vault',
  scope: 'vault',
  codes: { spent: 'KeyVaultBudgetSpent', throttled: 'KeyVaultThrottled' },
  types: {
    reads: { label: 'requests', one: 'a Key Vault request', setting: 'KEY_VAULT_REQUESTS_PER_SECOND' },
    writes: { label: 'secret sets', one: 'a Key Vault secret set', setting: 'KEY_VAULT_SECRET_SETS_PER_SECOND' },
  },
};

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

/** Set Secret (PUT /secrets/{name}) is what Key Vault limits as a secret creation; the rest share the other limit. */
export function keyVaultRequestType(method: string, url: string): ArmRequestType {
  return method.toUpperCase() === 'PUT' && /^\/secrets\/[^/]+\/?$/i.test(new URL(url).pathname) ? 'writes' : 'reads';
}

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

/** The budgets of every subscription (or vault) this process calls, one per runtime (one per worker process in Azure). */
class RequestBudget {
  readonly #budgets = new Map<string, TypeBudget>();
  readonly #perSecond: Record<ArmRequestType, number>;
  readonly #nowMs: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #hold: <T>(send: () => Promise<T>) => Promise<T>;

  constructor(
    readonly service: BudgetService,
    options: ArmBudgetOptions,
  ) {
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
    const header = this.service.types[type].remainingHeader;
    const remaining = header ? Number.parseInt(response.headers.get(header) ?? '', 10) : Number.NaN;
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

  #spent(scopeId: string, type: ArmRequestType, budget: TypeBudget, waitMs: number): TransientError {
    const { name, scope, codes, types } = this.service;
    const { label, one, setting } = types[type];
    const limit = budget.limit();
    const why = limit < budget.perSecond ? `${name} reports few ${label} left, so the app sends ${limit} per second instead of ${budget.perSecond} (${setting})` : `${budget.perSecond} per second (${setting})`;
    return new TransientError(
      `The app's ${name} budget of ${label} for ${scope} ${scopeId} is spent for the next ${Math.ceil(waitMs / 1000)} s: ${why}. Nothing was sent; the rotation tries again later.`,
      { code: codes.spent, operation: `send ${one}`, resource: scopeId, retryAfterInMs: Math.ceil(waitMs / 1000) * 1000 },
    );
  }
}

/** ARM's budget per subscription (ARM_READS_PER_SECOND, ARM_WRITES_PER_SECOND). */
export class ArmBudget extends RequestBudget {
  constructor(options: ArmBudgetOptions) {
    super(ARM_SERVICE, options);
  }
}

/** Key Vault's budget per vault: `writesPerSecond` secret sets (KEY_VAULT_SECRET_SETS_PER_SECOND), `readsPerSecond` other requests (KEY_VAULT_REQUESTS_PER_SECOND). */
export class KeyVaultBudget extends RequestBudget {
  constructor(options: ArmBudgetOptions) {
    super(KEY_VAULT_SERVICE, options);
  }
}

/**
 * The pipeline policy that spends the budget. Placed after the SDK's retry
 * policy, so that every attempt actually sent takes a turn: retries and the
 * polls of long-running operations included.
 */
export function armBudgetPolicy(budget: ArmBudget, subscriptionId: string): PipelinePolicy {
  return budgetPolicy('armBudgetPolicy', budget, subscriptionId, (request) => {
    const type = armRequestType(request.method);
    return { type, isPoll: type === 'reads' && /\/(operationsStatus|operationResults)\//i.test(new URL(request.url).pathname) };
  });
}

/** The same for one vault's requests. */
export function keyVaultBudgetPolicy(budget: KeyVaultBudget, vaultUrl: string): PipelinePolicy {
  // The first request of a client goes without a token to learn the challenge; the vault answers 401 before any work.
  return budgetPolicy('keyVaultBudgetPolicy', budget, new URL(vaultUrl).host, (request) =>
    request.headers.has('authorization') ? { type: keyVaultRequestType(request.method, request.url), isPoll: false } : null,
  );
}

/** `classify` gives null for a request the service does not count: it goes without taking a turn. */
function budgetPolicy(name: string, budget: RequestBudget, scopeId: string, classify: (request: PipelineRequest) => { type: ArmRequestType; isPoll: boolean } | null): PipelinePolicy {
  return {
    name,
    async sendRequest(request, next) {
      const kind = classify(request);
      if (!kind) return next(request);
      const { type, isPoll } = kind;
      await budget.take(scopeId, type, isPoll ? { maxWaitInMs: MAX_POLL_WAIT_IN_MS } : {});
      const response = await budget.send(() => next(request));
      budget.heard(scopeId, type, response);
      const waitMs = response.status === 429 ? budget.nextTurnInMs(scopeId, type) : 0;
      // A short Retry-After is the SDK's to wait out (its retry comes back through here); a long one ends the activity.
      if (waitMs > (isPoll ? MAX_POLL_WAIT_IN_MS : MAX_WAIT_IN_MS)) {
        const { name: service, scope, codes, types } = budget.service;
        throw new TransientError(
          `${service === 'ARM' ? 'Azure Resource Manager' : service} throttled a ${request.method} for ${scope} ${scopeId} (429): nothing of the type is sent for ${Math.ceil(waitMs / 1000)} s (Retry-After).`,
          { statusCode: 429, code: codes.throttled, operation: `send ${types[type].one}`, resource: scopeId, retryAfterInMs: Math.ceil(waitMs / 1000) * 1000 },
        );
      }
      return response;
    },
  };
}
