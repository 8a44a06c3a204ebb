/**
 * Activity: one rotation state change, sent as a CloudEvent to the Event Grid
 * topic (when configured) and recorded as a telemetry custom event.
 *
 * The orchestrator calls it once per state change; replays never call it
 * again. The event's id is `{rotationId}/{sequence}-{type}`, the same on any
 * resend: a host crash after this activity ran but before Durable recorded it
 * runs it again with the same id, which subscribers drop as a duplicate
 * (CloudEvents: source + id identify an event). Delivery never fails the
 * rotation: the SDK retries the topic, and what still fails is recorded in
 * telemetry (delivery=failed), which is what the alerts read.
 */
import type { InvocationContext } from '@azure/functions';
import { toCloudEvent } from '../domain/rotation-events.js';
import { redactSecrets } from '../errors.js';
import { getRuntime } from '../runtime.js';
import { recordRotationEvent } from '../telemetry.js';
import type { EmitRotationEventInput, EmitRotationEventResult } from './contracts.js';

export async function emitRotationEvent(input: EmitRotationEventInput, context: InvocationContext): Promise<EmitRotationEventResult> {
  const { event } = input;
  let result: EmitRotationEventResult;
  try {
    const eventGrid = getRuntime().adapters.eventGrid;
    if (eventGrid) {
      await eventGrid.sendEvent(toCloudEvent(event));
      result = { delivery: 'sent' };
    } else {
      result = { delivery: 'off' };
    }
  } catch (error) {
    const reason = redactSecrets(error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 500);
    context.warn(`emitRotationEvent: the ${event.type} event ${event.id} was not delivered: ${reason}`);
    result = { delivery: 'failed', reason };
  }
  recordRotationEvent(event, result.delivery);
  context.log(`emitRotationEvent: ${event.type} ${event.id} (${result.delivery})`);
  return result;
}
