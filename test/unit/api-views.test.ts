import { describe, expect, it } from 'vitest';
import type { DurableOrchestrationStatus } from 'durable-functions';
import type { InspectAccountResult } from '../../src/activities/contracts.js';
import { rotationTarget } from '../helpers/targets.js';
import { dryRun } from '../../src/api/dry-run.js';
import { interruptionOf, rotationView } from '../../src/api/rotation-view.js';
import type { RotationPhase, RotationStatus } from '../../src/workflow/rotation-types.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const target = rotationTarget('orders');
const ACCOUNT_ID = target.accountId;

const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000).toISOString();

function facts(lastUse: { primary?: string | null; secondary?: string | null }, publishedKeyKind: 'primary' | 'secondary' | null, extra: Partial<InspectAccountResult> = {}): InspectAccountResult {
  // The last rotation finished: it published its key and regenerated the other one 13 h later.
  const generationTime = (kind: string) => (kind === publishedKeyKind ? '2025-12-31T23:50:00.000Z' : '2026-01-01T13:00:00.000Z');
  const key = (lastUsedAt: string | null | undefined, kind: string) => ({ generationTime: generationTime(kind), lastUsedAt: lastUsedAt ?? null });
  return {
    accountId: ACCOUNT_ID,
    accountName: 'orders',
    documentEndpoint: 'https://orders.documents.azure.com:443/',
    capabilities: ['EnableKeyCheckBeforeRegenerationPreview'],
    safeRotationCheckEnabled: true,
    disableLocalAuth: false,
    keys: { primary: key(lastUse.primary, 'primary'), secondary: key(lastUse.secondary, 'secondary'), primaryReadonly: key(null, 'primaryReadonly'), secondaryReadonly: key(null, 'secondaryReadonly') },
    publishedKeyKind,
    publishedRotationId: publishedKeyKind ? 'orders-20260101T000000Z' : null,
    publishedAt: publishedKeyKind ? '2026-01-01T00:00:00.000Z' : null,
    inspectedAt: NOW.toISOString(),
    ...extra,
  };
}

const notDue = { due: false, dueAt: '2026-03-31T00:00:00.000Z', detail: 'due at 2026-03-31T00:00:00.000Z' };

describe('dryRun', () => {
  it('when Key Vault holds primary and secondary is idle, then the plan regenerates secondary at once and waits for consumers to leave primary', () => {
    const plan = dryRun({ target, pairs: [{ pair: 'readWrite', secretName: 'orders-key', facts: facts({ primary: hoursAgo(1), secondary: hoursAgo(40) }, 'primary') }], due: notDue, now: NOW, runningPhase: null });
    const [pair] = plan.pairs;
    expect(plan).toMatchObject({ changesNothing: true, safeRotationCheckEnabled: true, wouldStart: true, blockedBy: null });
    expect(pair).toMatchObject({ activeKeyKind: 'primary', activeKeySource: 'keyVault', standbyKeyKind: 'secondary' });
    expect(pair!.standbyWait).toMatchObject({ needed: false, waitInHours: 0 });
    expect(pair!.consumerWait).toMatchObject({ needed: true, lastUsedAt: hoursAgo(1), maxWaitInHours: 72 });
    expect(pair!.steps[0]).toContain('is idle');
  });

  it('when the standby key was used 3 hours ago, then the plan says it would wait 9.5 hours for it', () => {
    const plan = dryRun({ target, pairs: [{ pair: 'readWrite', secretName: 'orders-key', facts: facts({ primary: hoursAgo(1), secondary: hoursAgo(3) }, 'primary') }], due: notDue, now: NOW, runningPhase: null });
    expect(plan.pairs[0]!.standbyWait).toMatchObject({ needed: true, waitInHours: 9.5, exceedsMax: false, idleFrom: new Date(NOW.getTime() + 9.5 * 3_600_000).toISOString() });
    expect(plan.pairs[0]!.steps[0]).toMatch(/Wait 9\.5 h for the standby key secondary/);
  });

  it('when the standby wait would exceed its bound, then the plan says the rotation would stop and need attention', () => {
    const shortBound = { ...target, standbyWaitMaxInHours: 4 };
    const plan = dryRun({ target: shortBound, pairs: [{ pair: 'readWrite', secretName: 'orders-key', facts: facts({ secondary: hoursAgo(1) }, 'primary') }], due: notDue, now: NOW, runningPhase: null });
    expect(plan.pairs[0]!.standbyWait.exceedsMax).toBe(true);
    expect(plan.pairs[0]!.steps[0]).toContain('need attention unless forced');
  });

  it('when the last rotation published secondary and never regenerated primary, then the plan says a start resumes it at the consumer wait', () => {
    const stopped = facts({ primary: hoursAgo(2) }, 'secondary', { publishedAt: hoursAgo(3) });
    stopped.keys.primary.generationTime = hoursAgo(500);
    const plan = dryRun({ target, pairs: [{ pair: 'readWrite', secretName: 'orders-key', facts: stopped }], due: notDue, now: NOW, runningPhase: null });
    expect(plan.pairs[0]).toMatchObject({
      activeKeyKind: 'primary',
      standbyKeyKind: 'secondary',
      resumes: { rotationId: 'orders-20260101T000000Z', from: 'waitingForConsumers', publishedAt: hoursAgo(3) },
      standbyWait: { needed: false },
      consumerWait: { needed: true, lastUsedAt: hoursAgo(2) },
    });
    expect(plan.pairs[0]!.steps[0]).toMatch(/^Resume rotation orders-20260101T000000Z: it published secondary .* nothing is regenerated or published again/);
  });

  it('when a rotation is running or local auth is disabled, then the plan says it would not start and why', () => {
    const running = dryRun({ target, pairs: [{ pair: 'readWrite', secretName: 'orders-key', facts: facts({}, null) }], due: notDue, now: NOW, runningPhase: 'validating' });
    expect(running).toMatchObject({ wouldStart: false, blockedBy: expect.stringContaining('phase validating') });
    const localAuthOff = dryRun({ target, pairs: [{ pair: 'readWrite', secretName: 'orders-key', facts: facts({}, null, { disableLocalAuth: true }) }], due: notDue, now: NOW, runningPhase: null });
    expect(localAuthOff).toMatchObject({ wouldStart: false, localAuthDisabled: true });
  });

  it('when no key was ever used, then the plan still says the old key is kept the idle window after publishing, as the rotation does', () => {
    const plan = dryRun({ target, pairs: [{ pair: 'readWrite', secretName: 'orders-key', facts: facts({}, null) }], due: notDue, now: NOW, runningPhase: null });
    expect(plan.pairs[0]).toMatchObject({ activeKeySource: 'default', consumerWait: { needed: true, lastUsedAt: null, waitInHours: 12.5 } });
    expect(plan.pairs[0]!.consumerWait.idleFrom).toBe(new Date(NOW.getTime() + 12.5 * 3_600_000).toISOString());
    expect(plan.pairs[0]!.consumerWait.note).toContain('no recorded use');
  });
});

function status(fields: Partial<DurableOrchestrationStatus> & { customStatus?: RotationStatus }): DurableOrchestrationStatus {
  return {
    name: 'rotateAccountKeys',
    instanceId: 'cosmos-rotation--x',
    createdTime: new Date('2026-03-01T00:00:00Z'),
    lastUpdatedTime: new Date('2026-03-01T01:00:00Z'),
    input: { settings: target, requestedBy: 'api', reason: 'test' },
    output: null,
    runtimeStatus: 'Running',
    ...fields,
  } as DurableOrchestrationStatus;
}

function custom(phase: RotationPhase, message = 'm'): RotationStatus {
  return { rotationId: 'r', accountId: ACCOUNT_ID, pair: 'readWrite', phase, message, force: false, phaseStartedAt: '2026-03-01T00:30:00.000Z', activeKeyKind: 'primary', standbyKeyKind: 'secondary' };
}

describe('rotationView', () => {
  it('when the instance was terminated while waiting for consumers, then the view says both keys are valid and a re-run is safe', () => {
    const view = rotationView(target, status({ runtimeStatus: 'Terminated' as never, output: 'consumers cannot move this week', customStatus: custom('waitingForConsumers') }));
    expect(view.state).toBe('cancelled');
    expect(view.interruption).toMatchObject({ phase: 'waitingForConsumers', reason: 'consumers cannot move this week', rerunSafe: true });
    expect(view.interruption!.keys).toContain('both keys are valid');
  });

  it('when the instance failed, then the failure is the orchestrator\'s last message, not the runtime output', () => {
    const view = rotationView(target, status({ runtimeStatus: 'Failed' as never, output: 'Error: boom\n    at stack (file.js:1:1)', customStatus: custom('failed', 'validateKey failed: 403. Fix: grant the role') }));
    expect(view.failure).toEqual({ message: 'validateKey failed: 403. Fix: grant the role' });
  });

  it('when a failure has no status message, then only the first line of the output is shown, scrubbed', () => {
    const leaked = 'A'.repeat(86) + '==';
    const view = rotationView(target, status({ runtimeStatus: 'Failed' as never, output: `Orchestrator failed: AccountKey=${leaked}\n    at secret (x.js:1:1)`, customStatus: custom('validating') }));
    expect(view.failure!.message).not.toContain(leaked);
    expect(view.failure!.message).not.toContain('at secret');
  });

  it('when the custom status carries unknown fields, then only the documented ones are shown', () => {
    const view = rotationView(target, status({ customStatus: { ...custom('validating'), extra: 'x' } as RotationStatus }));
    expect(Object.keys(view.status!)).not.toContain('extra');
    expect(view).toMatchObject({ state: 'running', requestedBy: 'api', reason: 'test', force: false });
  });
});

describe('interruptionOf', () => {
  it.each<[RotationPhase, string]>([
    ['inspecting', 'Nothing was changed'],
    ['waitingForStandbyIdle', 'Nothing was changed'],
    ['regeneratingStandby', 'Consumers are unaffected'],
    ['validating', 'not published'],
    ['publishing', 'may or may not have been published'],
    ['waitingForConsumers', 'both keys are valid'],
    ['regeneratingOldKey', 'consumers use it'],
  ])('when cancelled in %s, then the keys are described and a re-run is safe', (phase, words) => {
    const view = interruptionOf(phase, 'why');
    expect(view.keys).toContain(words);
    expect(view.rerunSafe).toBe(true);
  });
});
