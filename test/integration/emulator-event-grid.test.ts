/**
 * The emulator's Event Grid topic, driven by the real @azure/eventgrid
 * EventGridPublisherClient and by the app's adapter.
 *
 * Sources for the contract: Microsoft Learn "Publish events to Azure Event
 * Grid custom topics using access keys" (POST .../api/events?api-version=
 * 2018-01-01, the aeg-sas-key header), "Authenticate publishing clients using
 * Microsoft Entra ID" (bearer token for https://eventgrid.azure.net, the
 * EventGrid Data Sender role), "Azure Event Grid quotas and limits" (1 MB per
 * event and per batch), the @azure/eventgrid 5.x source (CloudEvents batch
 * content type, 200 on success, any other status an error), and the
 * CloudEvents 1.0 spec (specversion, id, source and type are required).
 */
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AzureEmulator, DeliveredEvent } from '../../emulator/azure/index.js';
import { EventGridAdapter } from '../../src/azure/event-grid.js';
import { toCloudEvent, type RotationEvent } from '../../src/domain/rotation-events.js';
import { control, httpsRequest, startTestEmulator, staticTokenCredential } from '../helpers/emulator.js';

let emulator: AzureEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => emulator.close());
beforeEach(async () => {
  await control(emulator, 'DELETE', '/faults');
});

const fastRetry = { retryOptions: { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 10 } };

function publisher(credential: ConstructorParameters<typeof EventGridPublisherClient<'CloudEvent'>>[2] = staticTokenCredential) {
  return new EventGridPublisherClient(emulator.eventGridEndpoint, 'CloudEvent', credential, { ...fastRetry, tlsOptions: { ca: emulator.caCertPem } });
}

const sample: RotationEvent<'newKeyPublished'> = {
  id: 'orders-20260501T080000Z/001-newKeyPublished',
  type: 'newKeyPublished',
  rotationId: 'orders-20260501T080000Z',
  accountId: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/orders',
  accountName: 'orders',
  pair: 'readWrite',
  phase: 'publishing',
  at: '2026-05-01T08:10:00.000Z',
  data: { keyKind: 'secondary', previousKeyKind: 'primary', secretName: 'orders-key', secretVersion: '0123456789abcdef0123456789abcdef' },
};

describe('the emulated Event Grid topic', () => {
  it('when the SDK publishes a CloudEvent with an Entra ID token, then the topic answers 200 and a subscriber gets it as sent', async () => {
    const got: DeliveredEvent[] = [];
    const unsubscribe = emulator.eventGrid.subscribe((delivery) => void got.push(delivery));
    await publisher().send([{ id: 'e-1', type: 'Test.Happened', source: '/tests', subject: 'thing', data: { n: 1 } }]);
    await emulator.eventGrid.allDelivered();
    unsubscribe();

    expect(got).toHaveLength(1);
    expect(got[0]!.event).toMatchObject({ specversion: '1.0', id: 'e-1', type: 'Test.Happened', source: '/tests', subject: 'thing', datacontenttype: 'application/json', data: { n: 1 } });
    expect(got[0]!.receivedAt).toBe(emulator.clock.now().toISOString());
  });

  it('when the SDK publishes with an access key, then aeg-sas-key is accepted too', async () => {
    await publisher(new AzureKeyCredential('topic-access-key')).send([{ id: 'key-1', type: 'Test.Key', source: '/tests', data: {} }]);
    expect(emulator.eventGrid.events().at(-1)!.event.id).toBe('key-1');
  });

  it('when a request carries no credential, then the topic answers 401 with the error nested under "error"', async () => {
    const response = await httpsRequest(`${emulator.eventGridEndpoint}?api-version=2018-01-01`, {
      ca: emulator.caCertPem,
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json; charset=utf-8' },
      body: [{ specversion: '1.0', id: '1', source: '/s', type: 't' }],
    });
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: { code: 'Unauthorized' } });
  });

  it('when an event lacks a required CloudEvents attribute or the api-version is wrong, then the topic answers 400', async () => {
    const post = (query: string, body: unknown) =>
      httpsRequest(`${emulator.eventGridEndpoint}${query}`, {
        ca: emulator.caCertPem,
        method: 'POST',
        headers: { authorization: 'Bearer token', 'content-type': 'application/cloudevents-batch+json; charset=utf-8' },
        body,
      });
    const missing = await post('?api-version=2018-01-01', [{ specversion: '1.0', id: '1', source: '/s' }]);
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toMatch(/type/);
    expect((await post('?api-version=2017-01-01', [{ specversion: '1.0', id: '1', source: '/s', type: 't' }])).status).toBe(400);
  });

  it('when a batch is over 1 MB, then the SDK gets 413', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    await expect(publisher().send([{ type: 'Test.Big', source: '/tests', data: { big } }])).rejects.toMatchObject({ statusCode: 413 });
  });

  it('when the topic answers 503 twice, then the SDK retries and the event arrives once', async () => {
    await control(emulator, 'POST', '/faults', { service: 'eventgrid', status: 503, times: 2 });
    const before = emulator.eventGrid.events().length;
    await publisher().send([{ id: 'retry-1', type: 'Test.Retry', source: '/tests', data: {} }]);
    expect(emulator.eventGrid.events().slice(before).map((d) => d.event.id)).toEqual(['retry-1']);
  });

  it('when the identity lacks the data-sender role (403), then the adapter fails permanently naming the role', async () => {
    await control(emulator, 'POST', '/faults', { service: 'eventgrid', status: 403, times: 1 });
    const adapter = new EventGridAdapter({ topicEndpoint: emulator.eventGridEndpoint, credential: staticTokenCredential, caCertPem: emulator.caCertPem });
    await expect(adapter.sendEvent(toCloudEvent(sample))).rejects.toMatchObject({ kind: 'permanent', message: expect.stringMatching(/EventGrid Data Sender/) });
  });

  it('when the adapter sends a rotation event, then subscribers get a CloudEvent whose id, type, subject and data say what happened', async () => {
    const adapter = new EventGridAdapter({ topicEndpoint: emulator.eventGridEndpoint, credential: staticTokenCredential, caCertPem: emulator.caCertPem });
    await adapter.sendEvent(toCloudEvent(sample));
    const last = emulator.eventGrid.events().at(-1)!.event;
    expect(last).toMatchObject({
      id: sample.id,
      type: 'CosmosKeyRotation.newKeyPublished',
      source: '/cosmos-key-rotation',
      subject: sample.accountId,
      time: sample.at,
      data: { accountName: 'orders', keyKind: 'secondary', secretName: 'orders-key', secretVersion: sample.data.secretVersion, rotationId: sample.rotationId },
    });
  });
});
