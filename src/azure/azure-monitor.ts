/**
 * Starts the Azure Monitor OpenTelemetry distro in the Functions worker, so
 * that src/telemetry.ts's custom events and metrics reach Application
 * Insights (customEvents, customMetrics). The component has local
 * authentication off: the exporter signs in with the app's identity.
 * Without APPLICATIONINSIGHTS_CONNECTION_STRING (local runs, tests) nothing
 * starts and telemetry stays a no-op.
 */
import { ManagedIdentityCredential, DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { useAzureMonitor } from '@azure/monitor-opentelemetry';

let started = false;

export function startAzureMonitor(env: NodeJS.ProcessEnv = process.env): boolean {
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  if (started || !connectionString) return started;
  const clientId = env.AZURE_CLIENT_ID?.trim();
  const credential: TokenCredential =
    env.AZURE_CREDENTIAL === 'managed-identity' ? (clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential()) : new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString, credential },
    // The Functions host already reports requests and dependencies of the invocation; the worker adds the rotation's own records.
    instrumentationOptions: { http: { enabled: false } },
  });
  started = true;
  return started;
}
