/**
 * An Event Grid custom topic with the CloudEvents 1.0 input schema, as the
 * real @azure/eventgrid EventGridPublisherClient publishes to it, and its
 * subscribers.
 *
 * The contract, from public sources:
 * - Microsoft Learn, "Publish events to Azure Event Grid custom topics using
 *   access keys" (post-to-custom-topic): POST {topic endpoint}/api/events
 *   ?api-version=2018-01-01, key in the `aeg-sas-key` header (or a SAS token
 *   in `aeg-sas-token`); a JSON array of events.
 * - Microsoft Learn, "Authenticate publishing clients using Microsoft Entra
 *   ID": `Authorization: Bearer` with a token for https://eventgrid.azure.net
 *   (the SDK's DEFAULT_EVENTGRID_SCOPE), and the "EventGrid Data Sender" role.
 * - Microsoft Learn, "Azure Event Grid quotas and limits": an event up to
 *   1 MB, a batch up to 1 MB (413 beyond).
 * - @azure/eventgrid 5.x source: content type
 *   `application/cloudevents-batch+json; charset=utf-8`, a 200 with an empty
 *   body on success, any other status is an error.
 * - CloudEvents 1.0 spec: `specversion`, `id`, `source` and `type` are required.
 * Errors nest `{ "error": { "code", "message" } }` like other Azure data planes.
 *
 * Delivery: after the 200, every subscriber gets each event (at the
 * emulator's clock time). Real Event Grid delivers at least once and does not
 * drop duplicates: neither does this.
 */
import type { EmulatorRequest, EmulatorResponse } from './contracts.js';

export const EVENT_GRID_RESOURCE = 'https://eventgrid.azure.net';
export const EVENT_GRID_PATH = '/api/events';
const API_VERSIONS = new Set(['2018-01-01']);
const MAX_BATCH_BYTES = 1024 * 1024;
const REQUIRED_ATTRIBUTES = ['specversion', 'id', 'source', 'type'] as const;

export interface CloudEventRecord {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  datacontenttype?: string;
  data?: unknown;
  [extension: string]: unknown;
}

/** What a subscriber gets: the event as sent, and when the topic accepted it (emulator clock). */
export interface DeliveredEvent {
  event: CloudEventRecord;
  receivedAt: string;
}

export type TopicSubscriber = (delivery: DeliveredEvent) => void | Promise<void>;

export class EventGridTopic {
  private readonly accepted: DeliveredEvent[] = [];
  private readonly subscribers = new Set<TopicSubscriber>();
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly now: () => Date, private readonly log: (line: string) => void) {}

  subscribe(subscriber: TopicSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Every event the topic accepted, in order (resends included). */
  events(): DeliveredEvent[] {
    return structuredClone(this.accepted);
  }

  /** Resolves when every accepted event has reached every subscriber. */
  async allDelivered(): Promise<void> {
    await this.pending;
  }

  clear(): void {
    this.accepted.length = 0;
  }

  handle = async (request: EmulatorRequest): Promise<EmulatorResponse> => {
    const authorization = header(request, 'authorization');
    const key = header(request, 'aeg-sas-key') ?? header(request, 'aeg-sas-token');
    if (!key && !(authorization && /^Bearer\s+\S+$/i.test(authorization.trim()))) {
      return failure(401, 'Unauthorized', 'The request authorization key is not authorized for this topic. Send aeg-sas-key, aeg-sas-token or an Entra ID bearer token.');
    }
    if (request.method !== 'POST' || request.url.pathname !== EVENT_GRID_PATH) {
      return failure(404, 'NotFound', `The requested resource ${request.method} ${request.url.pathname} does not exist. Events are posted to ${EVENT_GRID_PATH}.`);
    }
    const apiVersion = request.url.searchParams.get('api-version');
    if (!apiVersion || !API_VERSIONS.has(apiVersion)) {
      return failure(400, 'BadRequest', `The api-version '${apiVersion ?? ''}' is invalid. The supported versions are '${[...API_VERSIONS].join(', ')}'.`);
    }
    if (request.body.length > MAX_BATCH_BYTES) {
      return failure(413, 'PayloadTooLarge', `The maximum size (${MAX_BATCH_BYTES}) has been exceeded.`);
    }
    const contentType = (header(request, 'content-type') ?? '').toLowerCase();
    if (!contentType.startsWith('application/cloudevents-batch+json') && !contentType.startsWith('application/cloudevents+json')) {
      return failure(400, 'BadRequest', `This topic accepts the CloudEvents 1.0 schema: content type application/cloudevents-batch+json, got '${contentType}'.`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(request.body.toString('utf8'));
    } catch {
      return failure(400, 'BadRequest', 'The request body is not valid JSON.');
    }
    const events = Array.isArray(parsed) ? parsed : [parsed];
    for (const [index, event] of events.entries()) {
      if (typeof event !== 'object' || event === null) return failure(400, 'BadRequest', `Event ${index} is not a JSON object.`);
      const missing = REQUIRED_ATTRIBUTES.filter((name) => typeof (event as Record<string, unknown>)[name] !== 'string' || (event as Record<string, string>)[name] === '');
      if (missing.length) return failure(400, 'BadRequest', `Event ${index}: required CloudEvents attribute(s) ${missing.join(', ')} missing.`);
      if ((event as CloudEventRecord).specversion !== '1.0') return failure(400, 'BadRequest', `Event ${index}: specversion must be 1.0.`);
    }
    const receivedAt = this.now().toISOString();
    const accepted = (events as CloudEventRecord[]).map((event) => ({ event, receivedAt }));
    this.accepted.push(...accepted);
    // Push delivery happens after the publisher has its answer, as in Azure.
    this.pending = this.pending.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(() => this.deliver(accepted));
    return { status: 200 };
  };

  private async deliver(accepted: DeliveredEvent[]): Promise<void> {
    for (const delivery of accepted) {
      for (const subscriber of this.subscribers) {
        try {
          await subscriber(structuredClone(delivery));
        } catch (error) {
          this.log(`eventgrid: a subscriber failed on ${delivery.event.type} ${delivery.event.id}: ${(error as Error).message}`);
        }
      }
    }
  }
}

function header(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function failure(status: number, code: string, message: string): EmulatorResponse {
  return { status, body: { error: { code, message } } };
}
