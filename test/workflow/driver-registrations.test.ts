import * as df from 'durable-functions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../emulator/clock.js';
import { createDurableDriver, type DurableDriver, type FunctionRegistration } from '../../emulator/durable/index.js';

let driver: DurableDriver;
let loaded: FunctionRegistration[];

beforeAll(async () => {
  driver = await createDurableDriver({ clock: new VirtualClock('manual', '2026-03-01T00:00:00Z') });
  // By path, as the demo and CLI scripts load the app.
  loaded = await driver.loadFunctions('test/fixtures/durable-app/index.ts');
});

afterEach(() => {
  delete process.env.FIXTURE_NIGHTLY_SCHEDULE;
});

afterAll(async () => {
  await driver.close();
});

describe('registrations captured from the app', () => {
  it('when the app is loaded, then every function it registered is listed with its trigger type', () => {
    const byName = new Map(loaded.map((registration) => [registration.name, registration.triggerType]));
    expect(byName.get('fixtureSequence')).toBe('orchestrationTrigger');
    expect(byName.get('fixtureGreet')).toBe('activityTrigger');
    expect(byName.get('fixtureStart')).toBe('httpTrigger');
    expect(byName.get('fixtureNightly')).toBe('timerTrigger');
    expect(driver.registrations.length).toBe(loaded.length);
  });

  it('when an HTTP function is registered, then its route, methods and auth level are what the host would serve', () => {
    expect(driver.registration('fixtureStart')).toMatchObject({
      route: 'orchestrators/{orchestratorName}',
      effectiveRoute: 'orchestrators/{orchestratorName}',
      methods: ['POST'],
      authLevel: 'function',
      usesDurableClient: true,
    });
    expect(driver.registration('fixtureApprove')).toMatchObject({ route: 'approvals/{instanceId}', methods: ['POST'], authLevel: 'anonymous', usesDurableClient: true });
    // Binding names carry a hash suffix: the trigger is found by its type.
    const trigger = driver.registration('fixtureStart')?.trigger;
    expect(trigger?.type).toBe('httpTrigger');
    expect(trigger?.name).toMatch(/^httpTrigger.+/);
  });

  it('when the timer schedule is a %SETTING% expression, then it resolves from the app settings', () => {
    process.env.FIXTURE_NIGHTLY_SCHEDULE = '0 0 3 * * *';
    expect(driver.registration('fixtureNightly')).toMatchObject({
      scheduleExpression: '%FIXTURE_NIGHTLY_SCHEDULE%',
      schedule: '0 0 3 * * *',
      unresolvedSettings: [],
      usesDurableClient: true,
    });
  });

  it('when the setting behind the schedule is missing, then the schedule is reported unresolved', () => {
    const registration = driver.registration('fixtureNightly');
    expect(registration?.schedule).toBeUndefined();
    expect(registration?.unresolvedSettings).toEqual(['FIXTURE_NIGHTLY_SCHEDULE']);
  });

  it('when a second function is registered under a name already taken, then registration is refused as the worker does', () => {
    expect(() => df.app.activity('fixtureGreet', { handler: () => 'duplicate' })).toThrow(/already been registered/);
  });
});
