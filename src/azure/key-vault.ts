/**
 * Key Vault secrets (@azure/keyvault-secrets): where consumers pick the active
 * key up. Reads what the latest version says about itself (tags, content
 * type, times), publishes new versions and tags an existing version.
 */
import { SecretClient, type SecretProperties } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import { PermanentError, classifyAzureError } from '../errors.js';
import { keyVaultBudgetPolicy, type KeyVaultBudget } from './arm-budget.js';
import { SecretValue } from './secret-value.js';
import { throttlingTelemetryPolicy } from './throttling-telemetry.js';
import { pipelineTlsOptions } from './tls.js';

export interface SecretVersionInfo {
  name: string;
  version: string;
  tags: Record<string, string>;
  contentType: string | null;
  createdOn: string | null;
  expiresOn: string | null;
  enabled: boolean;
}

/** What Key Vault's list of secrets says of each one: its current version's attributes and tags, never a value or a version ID. */
export interface SecretListing {
  name: string;
  tags: Record<string, string>;
  contentType: string | null;
  createdOn: string | null;
  expiresOn: string | null;
  enabled: boolean;
}

export interface PublishSecretOptions {
  tags: Record<string, string>;
  contentType: string;
  expiresOn: Date;
}

export interface KeyVaultOptions {
  vaultUrl: string;
  credential: TokenCredential;
  caCertPem: string | null;
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
  /** The process's Key Vault request budget (KEY_VAULT_REQUESTS_PER_SECOND, KEY_VAULT_SECRET_SETS_PER_SECOND); none: unpaced. */
  budget?: KeyVaultBudget;
}

const DEFAULT_MAX_RETRIES = 4;

export class KeyVaultAdapter {
  readonly #client: SecretClient;
  readonly #vaultUrl: string;

  constructor(options: KeyVaultOptions) {
    this.#vaultUrl = options.vaultUrl;
    const retry = options.retry ?? {};
    this.#client = new SecretClient(options.vaultUrl, options.credential, {
      retryOptions: {
        maxRetries: retry.maxRetries ?? DEFAULT_MAX_RETRIES,
        ...(retry.retryDelayInMs !== undefined ? { retryDelayInMs: retry.retryDelayInMs } : {}),
        ...(retry.maxRetryDelayInMs !== undefined ? { maxRetryDelayInMs: retry.maxRetryDelayInMs } : {}),
      },
      // The challenge names https://vault.azure.net; a loopback emulator URL cannot match it.
      ...(options.caCertPem ? { disableChallengeResourceVerification: true } : {}),
      // The budget outside the telemetry, as for ARM: a 429 is counted before the budget ends the activity on it.
      additionalPolicies: [
        ...(options.budget ? [{ policy: keyVaultBudgetPolicy(options.budget, options.vaultUrl), position: 'perRetry' as const }] : []),
        { policy: throttlingTelemetryPolicy('keyVault'), position: 'perRetry' },
      ],
      ...pipelineTlsOptions(options.caCertPem),
    });
  }

  /**
   * The current version's properties with its version ID, or null when the
   * secret does not exist. Key Vault has no properties-only read of one
   * secret's current version: its list of secrets carries no version ID, and
   * its list of versions does not say which is current (creation times are
   * whole seconds, and ties happen). So this is the one GET of the current
   * version, for the callers that need its ID (publishKey, markRegeneration);
   * the value is dropped here, unread. Reads of many secrets use listSecretProperties.
   */
  async getLatestSecretProperties(name: string): Promise<SecretVersionInfo | null> {
    return (await this.getLatestSecret(name))?.info ?? null;
  }

  /**
   * Every secret in the vault with its current version's properties, keyed by
   * lower-case name (Key Vault names are case-insensitive). One paged list
   * (GetSecrets: at most 25 per page): ceil(secrets / 25) requests whatever the
   * fleet, and no value crosses the wire.
   */
  async listSecretProperties(): Promise<Map<string, SecretListing>> {
    const listed = new Map<string, SecretListing>();
    try {
      for await (const properties of this.#client.listPropertiesOfSecrets()) {
        const { version: _version, ...info } = infoOf(properties);
        listed.set(properties.name.toLowerCase(), info);
      }
    } catch (error) {
      throw this.#classify(error, 'list the secrets', this.#vaultUrl);
    }
    return listed;
  }

  /** The current version with its value (kept in a SecretValue), or null when the secret does not exist. */
  async getLatestSecret(name: string): Promise<{ info: SecretVersionInfo; value: SecretValue | null } | null> {
    try {
      const secret = await this.#client.getSecret(name);
      return { info: infoOf(secret.properties), value: secret.value ? new SecretValue(secret.value) : null };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw this.#classify(error, `read the latest version of secret ${name}`, name);
    }
  }

  /** Adds a version; returns what Key Vault recorded. */
  async publishSecret(name: string, value: SecretValue, options: PublishSecretOptions): Promise<SecretVersionInfo> {
    try {
      const secret = await this.#client.setSecret(name, value.reveal(), {
        tags: options.tags,
        contentType: options.contentType,
        expiresOn: options.expiresOn,
      });
      return infoOf(secret.properties);
    } catch (error) {
      throw this.#classify(error, `publish a new version of secret ${name}`, name);
    }
  }

  /**
   * Replaces the tags of one existing version. Key Vault adds no version and
   * leaves the value alone: consumers reading the latest version see the same
   * secret. Tags replace the version's whole tag set (merge before calling).
   */
  async updateSecretTags(name: string, version: string, tags: Record<string, string>): Promise<SecretVersionInfo> {
    try {
      return infoOf(await this.#client.updateSecretProperties(name, version, { tags }));
    } catch (error) {
      throw this.#classify(error, `update the tags of secret ${name} version ${version}`, name);
    }
  }

  #classify(error: unknown, operation: string, name: string): Error {
    const status = statusOf(error);
    const message = String((error as { message?: unknown })?.message ?? '');
    // Waiting does not undo a soft delete or re-enable a version: someone must act.
    if (status === 409 && /deleted/i.test(message)) {
      return new PermanentError(
        `Could not ${operation} (${this.#vaultUrl}): the secret is deleted but recoverable. Fix: recover it (az keyvault secret recover) or purge it, then retry.`,
        { statusCode: 409, operation, resource: name },
      );
    }
    if (status === 403 && /disabled/i.test(message)) {
      return new PermanentError(`Could not ${operation} (${this.#vaultUrl}): its current version is disabled. Fix: enable it or publish a new version.`, {
        statusCode: 403,
        operation,
        resource: name,
      });
    }
    return classifyAzureError(error, { operation, resource: this.#vaultUrl, service: 'keyVault' });
  }
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function infoOf(properties: SecretProperties): SecretVersionInfo {
  return {
    name: properties.name,
    version: properties.version ?? '',
    tags: { ...(properties.tags ?? {}) },
    contentType: properties.contentType ?? null,
    createdOn: properties.createdOn?.toISOString() ?? null,
    expiresOn: properties.expiresOn?.toISOString() ?? null,
    enabled: properties.enabled !== false,
  };
}
