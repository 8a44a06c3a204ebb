/**
 * Rotation events to an Event Grid topic (@azure/eventgrid), as CloudEvents
 * 1.0, with the app's identity (the "EventGrid Data Sender" role on the
 * topic; no access key). The CloudEvent id is the rotation's own, stable
 * across resends, so subscribers can drop a duplicate.
 */
import { EventGridPublisherClient, type SendCloudEventInput } from '@azure/eventgrid';
import type { TokenCredential } from '@azure/identity';
import type { RotationCloudEvent } from '../domain/rotation-events.js';
import { classifyAzureError } from '../errors.js';
import { pipelineTlsOptions } from './tls.js';

export interface EventGridOptions {
  /** The topic's endpoint, e.g. https://my-topic.westeurope-1.eventgrid.azure.net/api/events */
  topicEndpoint: string;
  credential: TokenCredential;
  caCertPem: string | null;
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

export class EventGridAdapter {
  readonly #client: EventGridPublisherClient<'CloudEvent'>;
  readonly #endpoint: string;

  constructor(options: EventGridOptions) {
    this.#endpoint = options.topicEndpoint;
    const retry = options.retry ?? {};
    this.#client = new EventGridPublisherClient(options.topicEndpoint, 'CloudEvent', options.credential, {
      retryOptions: {
        maxRetries: retry.maxRetries ?? 3,
        ...(retry.retryDelayInMs !== undefined ? { retryDelayInMs: retry.retryDelayInMs } : {}),
        ...(retry.maxRetryDelayInMs !== undefined ? { maxRetryDelayInMs: retry.maxRetryDelayInMs } : {}),
      },
      ...pipelineTlsOptions(options.caCertPem),
    });
  }

  /** Sends one event; throws a classified error (transient or permanent) when the topic refuses it. */
  async sendEvent(event: RotationCloudEvent): Promise<void> {
    const input: SendCloudEventInput<RotationCloudEvent['data']> = {
      id: event.id,
      type: event.type,
      source: event.source,
      subject: event.subject,
      time: new Date(event.time),
      datacontenttype: event.datacontenttype,
      data: event.data,
    };
    try {
      await this.#client.send([input]);
    } catch (error) {
      throw classifyAzureError(error, { operation: `send the ${event.type} event`, resource: this.#endpoint, service: 'eventGrid' });
    }
  }
}
