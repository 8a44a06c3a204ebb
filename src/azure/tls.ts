/**
 * Trust for the local emulator's certificate. When a CA is configured every
 * SDK client trusts exactly that CA; verification is never turned off.
 *
 * The CA goes in one TLS secure context per process, shared by every client:
 * given as `ca` alone, Node parses it again for each new connection, and a
 * fleet opens one connection per account (each has its own data-plane host).
 */
import { Agent } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';

const contexts = new Map<string, SecureContext>();

/** The secure context that trusts `caCertPem` (and nothing else), made once. */
export function secureContextFor(caCertPem: string): SecureContext {
  let context = contexts.get(caCertPem);
  if (!context) {
    context = createSecureContext({ ca: caCertPem });
    contexts.set(caCertPem, context);
  }
  return context;
}

/**
 * For clients built on @azure/core-rest-pipeline (ARM, Key Vault, Storage). Its
 * Node HTTP client spreads these settings into the https.Agent it makes, so
 * the shared context reaches every connection; `ca` is what its type declares.
 */
export function pipelineTlsOptions(caCertPem: string | null): { tlsOptions?: { ca: string; secureContext: SecureContext } } {
  return caCertPem ? { tlsOptions: { ca: caCertPem, secureContext: secureContextFor(caCertPem) } } : {};
}

/**
 * A pooled connection left idle this long is closed by the client. The data
 * plane is one host per account: a worker validating keys for a fleet, or the
 * demo's consumers, would otherwise keep a socket open to every account it
 * ever called (and the emulator one more for each), which runs a 5,000-account
 * run out of file descriptors. A client closing its own idle socket races
 * nothing: it never sends on it again.
 */
export const IDLE_SOCKET_TIMEOUT_MS = 5_000;

/** For @azure/cosmos, which takes an https.Agent instead of tlsOptions. */
export function createHttpsAgent(caCertPem: string | null, options: { keepAlive?: boolean } = {}): Agent {
  return new Agent({
    keepAlive: options.keepAlive ?? true,
    timeout: IDLE_SOCKET_TIMEOUT_MS,
    ...(caCertPem ? { ca: caCertPem, secureContext: secureContextFor(caCertPem) } : {}),
  });
}
