/**
 * Activity inputs and outputs are stored in the task hub's history in plain
 * text, and log lines go to Application Insights. This runs every activity
 * through a whole rotation of both pairs (with the connection string, a
 * blocked attempt, a transient and a permanent failure) and scans everything
 * they returned, threw or logged for every key value the emulator ever held.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginRegenerateKey, getRegenerationStatus, inspectAccount, publishKey, validateKey } from '../../src/activities/index.js';
import type { KeyKind } from '../../src/domain/keys.js';
import { accountPath, control } from '../helpers/emulator.js';
import { SAFE_CHECK, capturingContext, startRotatorFixture, type RotatorFixture } from './adapter-fixtures.js';

let fixture: RotatorFixture;
const observed: string[] = [];
const keyValues = new Set<string>();

function remember(accountId: string): void {
  for (const kind of ['primary', 'secondary', 'primaryReadonly', 'secondaryReadonly'] as const) keyValues.add(fixture.keyValue(accountId, kind));
}

type BeginResult = { ok: boolean; value?: { outcome: string; operation?: { pollerState: string } } } | undefined;

async function record(step: Promise<unknown>): Promise<unknown> {
  try {
    const result = await step;
    observed.push(JSON.stringify(result));
    return result;
  } catch (error) {
    const failure = error as Error;
    observed.push(failure.message, failure.stack ?? '', JSON.stringify(failure));
    return undefined;
  }
}

beforeAll(async () => {
  fixture = await startRotatorFixture();
  const accountId = await fixture.createAccount('orders-db', { capabilities: [SAFE_CHECK], regenerationSeconds: 120 });
  remember(accountId);
  const { context, lines } = capturingContext();
  const rotationStart = fixture.emulator.clock.now().toISOString();

  for (const [pair, active, standby, secretName, connectionStringSecretName] of [
    ['readWrite', 'primary', 'secondary', 'orders-db-key', 'orders-db-connection-string'],
    ['readOnly', 'primaryReadonly', 'secondaryReadonly', 'orders-db-readonly-key', null],
  ] as const) {
    fixture.emulator.recordKeyUse(accountId, active, fixture.hoursAgo(0));
    await record(inspectAccount({ accountId, pair, secretName }, context));
    for (const keyKind of [standby, active] as KeyKind[]) {
      const input = { accountId, keyKind, rotationId: `rotation-${pair}`, notRegeneratedSince: rotationStart, idleWindowInHours: 12, usageMarginInMinutes: 30 };
      // The active key was just used: its first attempt is blocked, then forced.
      let begun = (await record(beginRegenerateKey({ ...input, skipUsageCheck: false }, context))) as BeginResult;
      if (begun?.value?.outcome === 'blocked') begun = (await record(beginRegenerateKey({ ...input, skipUsageCheck: true }, context))) as BeginResult;
      if (begun?.value?.outcome !== 'started') throw new Error(`the ${keyKind} key did not start: ${observed.at(-1)}`);
      const statusInput = { accountId, keyKind, operation: begun.value.operation!, notRegeneratedSince: rotationStart };
      await record(getRegenerationStatus(statusInput, context));
      fixture.emulator.clock.advance(121_000);
      await record(getRegenerationStatus(statusInput, context));
      remember(accountId);
      await record(validateKey({ accountId, keyKind }, context));
      await record(publishKey({ accountId, keyKind, rotationId: `rotation-${pair}-${keyKind}`, secretName, connectionStringSecretName, expiresInDays: 90 }, context));
    }
  }

  // Failures carry SDK messages: a permanent one (404), a transient one (503s), and a Key Vault 403.
  await record(inspectAccount({ accountId: accountPath('rg-app', 'gone-db'), pair: 'readWrite', secretName: 'x' }, context));
  await control(fixture.emulator, 'POST', '/faults', { service: 'arm', status: 503, retryAfterSeconds: 0, times: 20 });
  await record(validateKey({ accountId, keyKind: 'primary' }, context));
  await control(fixture.emulator, 'DELETE', '/faults');
  await control(fixture.emulator, 'POST', '/faults', { service: 'keyvault', method: 'PUT', status: 403, times: 1 });
  await record(publishKey({ accountId, keyKind: 'primary', rotationId: 'rotation-x', secretName: 'orders-db-key', connectionStringSecretName: null, expiresInDays: 90 }, context));
  remember(accountId);
  observed.push(...lines);
});

afterAll(async () => {
  await fixture.close();
});

describe('no key material leaves an activity', () => {
  it('when a rotation of both pairs ran through every activity, then the scan covered real work', () => {
    // 8 keys: 4 at the start, and each of the 4 regenerated once.
    expect(keyValues.size).toBe(8);
    expect(observed.join('\n')).toMatch(/"outcome":"published"/);
    expect(observed.join('\n')).toMatch(/"outcome":"blocked"/);
    expect(observed.join('\n')).toMatch(/"accepted":true/);
    expect(fixture.emulator.state().keyVault.secrets['orders-db-connection-string']?.versions.length).toBe(2);
  });

  it('when every result, error and log line is scanned, then no key value appears, plain or URL-encoded', () => {
    const text = observed.join('\n');
    for (const key of keyValues) {
      expect(text.includes(key)).toBe(false);
      expect(text.includes(encodeURIComponent(key))).toBe(false);
    }
    expect(text).not.toMatch(/AccountKey=(?!\[redacted\])/);
  });
});
