/**
 * Throttling as Azure does it, on the emulator's clock, on by default with
 * Azure's published numbers:
 *
 * - Resource Manager (Microsoft Learn, "Understand how Azure Resource Manager
 *   throttles requests", regional throttling and token bucket algorithm): a
 *   token bucket per subscription, principal and operation type; reads hold
 *   250 tokens refilled 25 per second, writes and deletes 200 refilled 10 per
 *   second; a subscription-wide bucket 15 times as large is shared by every
 *   principal. Over it: 429 with Retry-After. Every answer carries
 *   x-ms-ratelimit-remaining-subscription-reads (reads) or -writes (others).
 *   POST actions (listKeys, regenerateKey) count as writes.
 * - Key Vault (Microsoft Learn, "Azure Key Vault service limits" and
 *   "Azure Key Vault throttling guidance"): per vault and region, at most 300
 *   secret creations and 4,000 other transactions in 10 seconds; over it 429
 *   with code Throttled and Retry-After; a refused request does not count.
 *
 * Buckets live in memory: a restart starts them full (as a new ARM instance would).
 */
import { createHash } from 'node:crypto';
import { InputError } from './accounts.js';
import type { EmulatorRequest, EmulatorResponse } from './contracts.js';

export interface ArmBucketLimits {
  bucketSize: number;
  refillPerSecond: number;
}

export interface ArmThrottling {
  enabled: boolean;
  reads: ArmBucketLimits;
  writes: ArmBucketLimits;
  deletes: ArmBucketLimits;
  /** The subscription-wide bucket shared by all principals: this many times a principal's. */
  subscriptionMultiplier: number;
}

export interface KeyVaultThrottling {
  enabled: boolean;
  windowSeconds: number;
  /** PUT /secrets/{name}: "CREATE secret". */
  secretCreatesPerWindow: number;
  /** Every other transaction (reads, lists, updates, deletes). */
  otherTransactionsPerWindow: number;
}

export interface ThrottlingSettings {
  arm: ArmThrottling;
  keyVault: KeyVaultThrottling;
}

/** Azure's published numbers (see the sources above). */
export function azureThrottling(): ThrottlingSettings {
  return {
    arm: {
      enabled: true,
      reads: { bucketSize: 250, refillPerSecond: 25 },
      writes: { bucketSize: 200, refillPerSecond: 10 },
      deletes: { bucketSize: 200, refillPerSecond: 10 },
      subscriptionMultiplier: 15,
    },
    keyVault: { enabled: true, windowSeconds: 10, secretCreatesPerWindow: 300, otherTransactionsPerWindow: 4000 },
  };
}

export type ArmOperationType = 'reads' | 'writes' | 'deletes';

export function armOperationType(method: string): ArmOperationType {
  const upper = method.toUpperCase();
  if (upper === 'GET' || upper === 'HEAD') return 'reads';
  if (upper === 'DELETE') return 'deletes';
  return 'writes';
}

interface Bucket {
  tokens: number;
  atMs: number;
}

interface Window {
  startMs: number;
  count: number;
}

export type ThrottleDecision = { allowed: true; headers: Record<string, string> } | { allowed: false; response: EmulatorResponse };

/** Who is calling: the token's object ID when it is a JWT, else a digest of the token. */
function principalOf(request: EmulatorRequest): string {
  const token = /^Bearer\s+(\S+)/i.exec(String(request.headers.authorization ?? ''))?.[1];
  if (!token) return 'anonymous';
  const payload = token.split('.')[1];
  if (payload) {
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { oid?: unknown };
      if (typeof claims.oid === 'string' && claims.oid) return claims.oid;
    } catch {
      // not a JWT: fall through
    }
  }
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

export class Throttler {
  #settings: ThrottlingSettings;
  readonly #buckets = new Map<string, Bucket>();
  readonly #windows = new Map<string, Window>();

  constructor(settings: ThrottlingSettings = azureThrottling()) {
    this.#settings = structuredClone(settings);
  }

  settings(): ThrottlingSettings {
    return structuredClone(this.#settings);
  }

  /** Replaces the settings and empties every bucket's history (they start full). */
  set(settings: ThrottlingSettings): void {
    this.#settings = structuredClone(settings);
    this.#buckets.clear();
    this.#windows.clear();
  }

  /** Takes a token for one ARM request, or says how long to wait. */
  arm(request: EmulatorRequest, subscriptionId: string | undefined, nowMs: number): ThrottleDecision {
    const settings = this.#settings.arm;
    const type = armOperationType(request.method);
    if (!settings.enabled || subscriptionId === undefined) return { allowed: true, headers: {} };
    const limits = settings[type];
    const principal = principalOf(request);
    const subscription = subscriptionId.toLowerCase();
    const own = this.#refill(`${subscription}|${principal}|${type}`, limits.bucketSize, limits.refillPerSecond, nowMs);
    const shared = this.#refill(
      `${subscription}|*|${type}`,
      limits.bucketSize * settings.subscriptionMultiplier,
      limits.refillPerSecond * settings.subscriptionMultiplier,
      nowMs,
    );
    const header = `x-ms-ratelimit-remaining-subscription-${type === 'reads' ? 'reads' : 'writes'}`;
    if (own.tokens < 1 || shared.tokens < 1) {
      const waitSeconds = Math.max(1, Math.ceil(Math.max((1 - own.tokens) / limits.refillPerSecond, (1 - shared.tokens) / (limits.refillPerSecond * settings.subscriptionMultiplier))));
      const kind = type === 'reads' ? 'read' : type === 'deletes' ? 'delete' : 'write';
      return {
        allowed: false,
        response: {
          status: 429,
          headers: { 'retry-after': String(waitSeconds), [header]: '0' },
          body: {
            error: {
              code: 'SubscriptionRequestsThrottled',
              message: `Number of '${kind}' requests for subscription '${subscriptionId}' actor '${principal}' exceeded. Please try again after '${waitSeconds}' seconds after the last throttled request.`,
            },
          },
        },
      };
    }
    own.tokens -= 1;
    shared.tokens -= 1;
    return { allowed: true, headers: { [header]: String(Math.floor(Math.min(own.tokens, shared.tokens))) } };
  }

  /** Counts one Key Vault transaction against the vault's 10-second window, or refuses it. */
  keyVault(request: EmulatorRequest, nowMs: number): ThrottleDecision {
    const settings = this.#settings.keyVault;
    if (!settings.enabled) return { allowed: true, headers: {} };
    // The challenge round trip (no token yet) is answered 401 before any work: not a transaction.
    if (!/^Bearer\s+\S+/i.test(String(request.headers.authorization ?? ''))) return { allowed: true, headers: {} };
    const create = request.method.toUpperCase() === 'PUT' && /^\/secrets\/[^/]+\/?$/i.test(request.url.pathname);
    const key = create ? 'secretCreates' : 'other';
    const limit = create ? settings.secretCreatesPerWindow : settings.otherTransactionsPerWindow;
    const windowMs = settings.windowSeconds * 1000;
    let window = this.#windows.get(key);
    if (!window || nowMs - window.startMs >= windowMs || nowMs < window.startMs) {
      window = { startMs: nowMs, count: 0 };
      this.#windows.set(key, window);
    }
    if (window.count >= limit) {
      const waitSeconds = Math.max(1, Math.ceil((window.startMs + windowMs - nowMs) / 1000));
      return {
        allowed: false,
        response: {
          status: 429,
          headers: { 'retry-after': String(waitSeconds) },
          body: {
            error: {
              code: 'Throttled',
              message: `Request was not processed because too many requests were received: at most ${limit} ${create ? 'secret creations' : 'transactions'} per vault in ${settings.windowSeconds} seconds. Retry after ${waitSeconds} seconds.`,
            },
          },
        },
      };
    }
    window.count += 1;
    return { allowed: true, headers: {} };
  }

  #refill(key: string, size: number, perSecond: number, nowMs: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: size, atMs: nowMs };
      this.#buckets.set(key, bucket);
    } else if (nowMs > bucket.atMs) {
      bucket.tokens = Math.min(size, bucket.tokens + ((nowMs - bucket.atMs) / 1000) * perSecond);
      bucket.atMs = nowMs;
    }
    return bucket;
  }
}

/** Validates a control or CLI change: a partial ThrottlingSettings merged over `current`. */
export function mergeThrottling(current: ThrottlingSettings, input: unknown): ThrottlingSettings {
  const fail = (message: string): never => {
    throw new InputError(message);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('the throttling settings must be a JSON object like {"arm": {"enabled": false}}');
  const body = input as Record<string, unknown>;
  const unknownTop = Object.keys(body).filter((field) => field !== 'arm' && field !== 'keyVault');
  if (unknownTop.length) fail(`unknown field(s): ${unknownTop.join(', ')}; allowed: arm, keyVault`);
  const next = structuredClone(current);
  const positive = (value: unknown, name: string): number => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(`${name} must be a number > 0, got ${JSON.stringify(value)}`);
    return value as number;
  };
  const enabled = (value: unknown, name: string): boolean => {
    if (typeof value !== 'boolean') fail(`${name} must be true or false, got ${JSON.stringify(value)}`);
    return value as boolean;
  };
  if (body.arm !== undefined) {
    const arm = objectOf(body.arm, 'arm', fail);
    for (const [field, value] of Object.entries(arm)) {
      if (field === 'enabled') next.arm.enabled = enabled(value, 'arm.enabled');
      else if (field === 'subscriptionMultiplier') next.arm.subscriptionMultiplier = positive(value, 'arm.subscriptionMultiplier');
      else if (field === 'reads' || field === 'writes' || field === 'deletes') {
        const limits = objectOf(value, `arm.${field}`, fail);
        for (const [limit, number] of Object.entries(limits)) {
          if (limit !== 'bucketSize' && limit !== 'refillPerSecond') fail(`unknown field arm.${field}.${limit}; allowed: bucketSize, refillPerSecond`);
          next.arm[field][limit as keyof ArmBucketLimits] = positive(number, `arm.${field}.${limit}`);
        }
      } else fail(`unknown field arm.${field}; allowed: enabled, reads, writes, deletes, subscriptionMultiplier`);
    }
  }
  if (body.keyVault !== undefined) {
    const keyVault = objectOf(body.keyVault, 'keyVault', fail);
    for (const [field, value] of Object.entries(keyVault)) {
      if (field === 'enabled') next.keyVault.enabled = enabled(value, 'keyVault.enabled');
      else if (field === 'windowSeconds' || field === 'secretCreatesPerWindow' || field === 'otherTransactionsPerWindow') next.keyVault[field] = positive(value, `keyVault.${field}`);
      else fail(`unknown field keyVault.${field}; allowed: enabled, windowSeconds, secretCreatesPerWindow, otherTransactionsPerWindow`);
    }
  }
  return next;
}

function objectOf(value: unknown, name: string, fail: (message: string) => never): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${name} must be a JSON object`);
  return value as Record<string, unknown>;
}
