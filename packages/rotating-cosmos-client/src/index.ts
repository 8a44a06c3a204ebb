export {
  createRotatingCosmosClient,
  DEFAULT_REFRESH_INTERVAL_IN_MS,
  type CreateRotatingCosmosClientOptions,
  type EventHandlingResult,
  type RefreshReason,
  type RefreshResult,
  type RotatingClientEvent,
  type RotatingClientLogger,
  type RotatingCosmosClient,
  type RotatingCosmosOptions,
  type Timers,
} from './rotating-cosmos-client.js';
export { CONNECTION_STRING_CONTENT_TYPE, KEY_CONTENT_TYPE, KEY_KIND_TAG, SecretFormatError, type SecretForm } from './secret-contract.js';
export { SECRET_NEW_VERSION_CREATED, SUBSCRIPTION_VALIDATION } from './events.js';
