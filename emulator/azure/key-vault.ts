/**
 * Placeholder until the Key Vault secrets handler lands: answers 501 in Key
 * Vault's error shape so clients fail clearly rather than hang.
 */
import type { EmulatorRequest, EmulatorResponse, ServiceContext, ServiceHandler } from './contracts.js';

export const handleKeyVault: ServiceHandler = async (request: EmulatorRequest, context: ServiceContext): Promise<EmulatorResponse> => {
  context.log(`keyvault: ${request.method} ${request.url.pathname} is not emulated yet`);
  return { status: 501, body: { error: { code: 'NotImplemented', message: 'Key Vault secrets are not emulated yet.' } } };
};
