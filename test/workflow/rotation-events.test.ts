/**
 * Rotation events and telemetry: every state change is one CloudEvent on the
 * Event Grid topic and one telemetry custom event, through replays and host
 * crashes, and neither carries a key.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { control } from '../helpers/emulator.js';
import { installInMemoryTelemetry, type InMemoryTelemetry } from '../../emulator/telemetry.js';
import { HOUR_MS, RotationHarness, SAFE_CHECK } from './rotation-harness.js';

const MINUTE_MS = 60_000;
let harness: RotationHarness | undefined;
let telemetry: InMemoryTelemetry;

beforeEach(() => {
  telemetry = installInMemoryTelemetry();
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await telemetry.shutdown();
});

const typeOf = (type: string) => type.replace(/^CosmosKeyRotation\./, '');

async function rotateWithEvents(options: { crashAfterActivity?: Parameters<typeof RotationHarness.start>[0]['crashAfterActivity'] } = {}) {
  harness = await RotationHarness.start({
    accounts: [{ name: 'orders', capabilities: [SAFE_CHECK] }],
    events: true,
    ...(options.crashAfterActivity ? { crashAfterActivity: options.crashAfterActivity } : {}),
  });
  await harness.seedSecretByHand('orders', 'primary');
  // Consumers follow Key Vault: the old key stays in use until the new one is published.
  const consumer = async () => void (await harness!.useKeyFromKeyVault('orders'));
  await harness.startRotation('orders');
  let result = await harness.runRotation('orders', { stepMs: 30 * MINUTE_MS, eachStep: consumer });
  if (harness.driver.crashed) {
    await harness.restartDriver();
    result = await harness.runRotation('orders', { stepMs: 30 * MINUTE_MS, eachStep: consumer });
  }
  await harness.emulator.eventGrid.allDelivered();
  return result;
}

describe('rotation events on the Event Grid topic and in telemetry', () => {
  it('when a rotation runs, then each state change is one CloudEvent and one custom event with the same id, in order', async () => {
    const result = await rotateWithEvents();
    expect(result.output.outcome).toBe('rotated');

    const delivered = harness!.emulator.eventGrid.events().map((d) => d.event);
    expect(delivered.map((event) => typeOf(event.type))).toEqual(['newKeyPublished', 'waitStarted', 'waitEnded', 'oldKeyRegenerated', 'rotationCompleted']);
    const published = delivered[0]!;
    expect(published).toMatchObject({
      specversion: '1.0',
      source: '/cosmos-key-rotation',
      subject: harness!.accountId('orders'),
      id: `${result.output.rotationId}/001-newKeyPublished`,
      data: { accountName: 'orders', pair: 'readWrite', keyKind: 'secondary', previousKeyKind: 'primary', secretName: 'orders-key', rotationId: result.output.rotationId },
    });
    expect((published.data as { secretVersion: string }).secretVersion).toBe(result.output.pairs[0]!.secretVersion);
    expect(delivered[2]!.data).toMatchObject({ wait: 'consumers', ended: 'idle' });
    expect((delivered[2]!.data as { waitedInSeconds: number }).waitedInSeconds).toBeGreaterThan(12 * 3600);

    const custom = telemetry.customEvents();
    expect(custom.map((event) => event.attributes.eventId)).toEqual(delivered.map((event) => event.id));
    expect(custom.map((event) => event.name)).toEqual(delivered.map((event) => `RotationEvent.${typeOf(event.type)}`));
    expect(custom.at(-1)!.attributes).toMatchObject({ account: 'orders', pair: 'readWrite', rotationId: result.output.rotationId, outcome: 'rotated', delivery: 'sent' });

    const durations = await telemetry.metricPoints('rotation.duration');
    expect(durations).toHaveLength(1);
    expect(durations[0]!.attributes).toMatchObject({ account: 'orders', outcome: 'rotated' });
    expect(await telemetry.metricPoints('rotation.wait.duration')).toHaveLength(1);
    expect(await harness!.findLeaks(await telemetry.texts())).toEqual([]);
  });

  it('when the orchestration replays many times, then no event is sent twice', async () => {
    const result = await rotateWithEvents();
    const episodes = harness!.driver.counters(harness!.instanceId('orders'))!.episodes;
    // Many more replays than events: replays never send.
    expect(episodes).toBeGreaterThan(10);
    const ids = harness!.emulator.eventGrid.events().map((d) => d.event.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(harness!.driver.counters(harness!.instanceId('orders'))!.activityCalls.emitRotationEvent).toBe(5);
    expect(result.output.outcome).toBe('rotated');
  });

  it('when the host crashes right after an event was sent (or after publishing), then each state change still has one event id and one telemetry record; the resend repeats the same id', async () => {
    const reference = await rotateWithEvents();
    const expectedTypes = harness!.emulator.eventGrid.events().map((d) => typeOf(d.event.type));
    await harness!.close();
    harness = undefined;
    expect(reference.output.outcome).toBe('rotated');

    // Crash after each send (the window where Durable has not yet recorded it), and after publishing the key.
    const crashPoints = [...expectedTypes.map((_, index) => ({ activity: 'emitRotationEvent', nth: index + 1 })), { activity: 'publishKey', nth: 1 }];
    for (const point of crashPoints) {
      telemetry.reset();
      let seen = 0;
      const result = await rotateWithEvents({
        crashAfterActivity: (activity) => activity.name === point.activity && ++seen === point.nth,
      });
      const story = `crash after ${point.activity} #${point.nth}`;
      expect(result.output?.outcome, story).toBe('rotated');
      const delivered = harness!.emulator.eventGrid.events().map((d) => d.event);
      const distinct = [...new Map(delivered.map((event) => [event.id, event])).values()];
      expect(distinct.map((event) => typeOf(event.type)), story).toEqual(expectedTypes);
      const custom = telemetry.customEvents();
      expect([...new Set(custom.map((event) => event.attributes.eventId))], story).toEqual(distinct.map((event) => event.id));
      // Only a crash inside the sender itself repeats a send, and then with the same id.
      const resends = point.activity === 'emitRotationEvent' ? 1 : 0;
      expect(delivered.length - distinct.length, story).toBe(resends);
      expect(custom.length - distinct.length, story).toBe(resends);
      expect(await harness!.findLeaks(await telemetry.texts()), story).toEqual([]);
      await harness!.close();
      harness = undefined;
    }
  });

  it('when the consumer wait passes its bound, then needsAttention says why and what to do, after the wait ended with boundPassed', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders', capabilities: [SAFE_CHECK] }], events: true, settings: { CONSUMER_WAIT_MAX_IN_HOURS: '6' } });
    await harness.seedSecretByHand('orders', 'primary');
    // A consumer that keeps the old key in hand.
    const stray = async () => void (await harness!.useKey('orders', 'primary'));
    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { stepMs: 30 * MINUTE_MS, eachStep: stray });
    await harness.emulator.eventGrid.allDelivered();

    expect(result.output.outcome).toBe('needsAttention');
    const delivered = harness.emulator.eventGrid.events().map((d) => d.event);
    expect(delivered.map((event) => typeOf(event.type))).toEqual(['newKeyPublished', 'waitStarted', 'waitEnded', 'needsAttention']);
    expect(delivered[2]!.data).toMatchObject({ ended: 'boundPassed' });
    const attention = delivered[3]!.data as { reason: string; whatToDo: string };
    expect(attention.reason).toMatch(/Consumers still use the old key primary/);
    expect(attention.whatToDo).toMatch(/consumers-moved/);
    expect(telemetry.customEvents().at(-1)!.attributes).toMatchObject({ eventType: 'needsAttention', outcome: 'needsAttention' });
  });

  it('when ARM forbids listing keys, then rotationFailed carries the fix, and the topic refusing events does not stop anything', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }], events: true });
    await harness.seedSecretByHand('orders', 'primary');
    await control(harness.emulator, 'POST', '/faults', { service: 'arm', pathPattern: '/listKeys$', status: 403, times: 100 });
    await control(harness.emulator, 'POST', '/faults', { service: 'eventgrid', status: 403, times: 100 });
    await harness.startRotation('orders');
    const result = await harness.runRotation('orders', { stepMs: 10 * MINUTE_MS });

    expect(result.runtimeStatus).toBe('Failed');
    expect(harness.emulator.eventGrid.events()).toEqual([]);
    const [failed] = telemetry.customEvents();
    expect(failed!.name).toBe('RotationEvent.rotationFailed');
    expect(failed!.attributes).toMatchObject({ outcome: 'failed', delivery: 'failed' });
    expect(`${String(failed!.attributes.reason)} ${String(failed!.attributes.whatToDo)}`).toMatch(/Fix: grant the function's identity .*listKeys\/action/);
    expect(harness.logLines.join('\n')).toMatch(/EventGrid Data Sender/);
  });
});

describe('telemetry without a topic, and throttling', () => {
  it('when no topic is configured and Key Vault throttles publishing, then every state change is still a custom event (delivery off) and each 429 is counted under the key vault service', async () => {
    harness = await RotationHarness.start({ accounts: [{ name: 'orders' }] });
    await harness.seedSecretByHand('orders', 'primary');
    await control(harness.emulator, 'POST', '/faults', { service: 'keyvault', method: 'PUT', status: 429, retryAfterSeconds: 0, times: 2 });
    await harness.startRotation('orders');
    await harness.runRotation('orders', { stepMs: HOUR_MS, eachStep: async () => void (await harness!.useKeyFromKeyVault('orders')) });

    const custom = telemetry.customEvents();
    expect(custom.map((event) => event.attributes.eventType)).toEqual(['newKeyPublished', 'waitStarted', 'waitEnded', 'oldKeyRegenerated', 'rotationCompleted']);
    expect(custom.every((event) => event.attributes.delivery === 'off')).toBe(true);
    expect(harness.emulator.eventGrid.events()).toEqual([]);
    const points = await telemetry.metricPoints('rotation.azure.throttled');
    expect(points).toEqual([{ attributes: { service: 'keyVault', operation: 'PUT secrets' }, value: 2 }]);
  });
});
