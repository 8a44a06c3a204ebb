/**
 * A pipeline policy that counts every 429 an SDK client receives, attempt by
 * attempt (placed after the retry policy, so retried answers count too).
 */
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { recordThrottling } from '../telemetry.js';

export function throttlingTelemetryPolicy(service: 'arm' | 'keyVault' | 'eventGrid'): PipelinePolicy {
  return {
    name: `throttlingTelemetry-${service}`,
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status === 429) recordThrottling(service, `${request.method} ${operationOf(new URL(request.url).pathname)}`);
      return response;
    },
  };
}

/** The path's last resource word (listKeys, regenerateKey, secrets...), never a name or an ID. */
function operationOf(pathname: string): string {
  const segments = pathname.split('/').filter(Boolean);
  if (segments[0] === 'secrets') return 'secrets';
  return segments.at(-1)?.replace(/[^A-Za-z]/g, '') || 'root';
}
