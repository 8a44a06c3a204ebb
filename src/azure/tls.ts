/**
 * Trust for the local emulator's certificate. When a CA is configured every
 * SDK client trusts exactly that CA; verification is never turned off.
 */
import { Agent } from 'node:https';

/** For clients built on @azure/core-rest-pipeline (ARM, Key Vault). */
export function pipelineTlsOptions(caCertPem: string | null): { tlsOptions?: { ca: string } } {
  return caCertPem ? { tlsOptions: { ca: caCertPem } } : {};
}

/** For @azure/cosmos, which takes an https.Agent instead of tlsOptions. */
export function createHttpsAgent(caCertPem: string | null): Agent {
  return new Agent({ keepAlive: true, ...(caCertPem ? { ca: caCertPem } : {}) });
}
