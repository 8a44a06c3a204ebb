/**
 * The app's Key Vault budget (src/azure/arm-budget.ts, KeyVaultBudget),
 * through the real @azure/keyvault-secrets client against the emulator, on a
 * manual clock: the budget's waits move it.
 *
 * Source for the limits: Microsoft Learn, "Azure Key Vault service limits"
 * (per vault and region: 300 secret creations and 4,000 other transactions in
 * 10 seconds) and "Azure Key Vault throttling guidance" (over them: 429 with
 * Retry-After). The vault is the consumers' too: a fleet's rotations
 * publishing at once must leave them room, so the app takes a share of it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emulator/clock.js';
import { SecretValue } from '../../src/azure/secret-value.js';
import { TEST_START } from '../helpers/emulator.js';
import { startRotatorFixture, type RotatorFixture } from './adapter-fixtures.js';

const KEY_VAULT_ANSWER = /^keyvault ([A-Z]+) (\/secrets\S*) -> (\d{3})$/;

describe('the Key Vault budget: secret sets and other requests apart', () => {
  let fixture: RotatorFixture;
  let clock: VirtualClock;
  const answers: Array<{ atMs: number; method: string; path: string; status: number }> = [];
  afterEach(async () => {
    answers.length = 0;
    await fixture?.close();
  });

  async function start(settings: Record<string, string> = {}): Promise<void> {
    clock = new VirtualClock('manual', TEST_START);
    const log = (line: string): void => {
      const match = KEY_VAULT_ANSWER.exec(line);
      if (match) answers.push({ atMs: clock.nowMs(), method: match[1]!, path: match[2]!, status: Number(match[3]) });
    };
    fixture = await startRotatorFixture(settings, { clock, log });
    // A new client's first requests go without a token to learn the vault's challenge, one after another: done here.
    await fixture.adapters.keyVault.publishSecret('warm-up', new SecretValue('warm-up'), { tags: {}, contentType: 'text/plain', expiresOn: new Date(clock.nowMs() + 86_400_000) });
    clock.set(new Date(clock.nowMs() + 60_000));
    answers.length = 0;
  }

  /** The most answers of a kind in one virtual second. */
  function peak(kind: 'sets' | 'others'): number {
    const counts = new Map<number, number>();
    for (const answer of answers) {
      const isSet = answer.method === 'PUT' && /^\/secrets\/[^/]+\/?$/.test(answer.path);
      if (answer.status === 401 || isSet !== (kind === 'sets')) continue;
      const second = Math.floor(answer.atMs / 1000);
      counts.set(second, (counts.get(second) ?? 0) + 1);
    }
    return Math.max(0, ...counts.values());
  }

  const publish = (index: number) => () =>
    fixture.adapters.keyVault.publishSecret(`acct-${index}-key`, new SecretValue(`value-${index}`), { tags: { keyKind: 'primary' }, contentType: 'application/vnd.cosmos-key', expiresOn: new Date(clock.nowMs() + 86_400_000) });

  function all(calls: Array<() => Promise<unknown>>): Promise<unknown[]> {
    return Promise.all(calls.map((call) => call().catch((error: Error) => error)));
  }

  it('when a new client sends its first request without a token to learn the challenge, then that 401 round trip takes no turn of the budget', async () => {
    clock = new VirtualClock('manual', TEST_START);
    const log = (line: string): void => {
      const match = KEY_VAULT_ANSWER.exec(line);
      if (match) answers.push({ atMs: clock.nowMs(), method: match[1]!, path: match[2]!, status: Number(match[3]) });
    };
    fixture = await startRotatorFixture({ KEY_VAULT_SECRET_SETS_PER_SECOND: '1' }, { clock, log });
    const startedMs = clock.nowMs();

    await publish(1)();

    // The challenge PUT (401) and the signed PUT (200): with one set a second, a counted challenge would push the second a second on.
    expect(answers.map((answer) => answer.status)).toEqual([401, 200]);
    expect(clock.nowMs() - startedMs).toBe(0);
  });

  it('when 40 rotations publish at once, then at most 10 secret sets go in any virtual second, none is throttled, and all are published', async () => {
    await start();
    const startedMs = clock.nowMs();

    const results = await all(Array.from({ length: 40 }, (_, index) => publish(index)));

    expect(results.filter((result) => result instanceof Error)).toEqual([]);
    expect(peak('sets')).toBe(10);
    expect(answers.filter((answer) => answer.status === 429)).toEqual([]);
    expect(clock.nowMs() - startedMs).toBe(3_000);
  });

  it('when more would wait longer than a few seconds, then the excess fails before it is sent, as transient naming KEY_VAULT_SECRET_SETS_PER_SECOND, and reads are paced apart', async () => {
    await start({ KEY_VAULT_SECRET_SETS_PER_SECOND: '2', KEY_VAULT_REQUESTS_PER_SECOND: '30' });

    const results = await all([
      ...Array.from({ length: 20 }, (_, index) => publish(index)),
      ...Array.from({ length: 60 }, () => () => fixture.adapters.keyVault.listSecretProperties()),
    ]);

    const refused = results.filter((result): result is Error => result instanceof Error);
    // 2 a second for up to 5 s of waiting: 12 go (at 0..5 s), 8 are refused unsent.
    expect(refused).toHaveLength(8);
    expect(refused[0]).toMatchObject({ name: 'TransientError', code: 'KeyVaultBudgetSpent', retryAfterInMs: expect.any(Number) });
    expect(refused[0]!.message).toMatch(/Key Vault budget of secret sets for vault 127\.0\.0\.1:\d+ is spent .*2 per second \(KEY_VAULT_SECRET_SETS_PER_SECOND\)/);
    expect(answers.filter((answer) => answer.method === 'PUT')).toHaveLength(12);
    expect(peak('sets')).toBe(2);
    expect(peak('others')).toBe(30);
    expect(answers.filter((answer) => answer.status === 429)).toEqual([]);
  });
});
