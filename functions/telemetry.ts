/**
 * Telemetry for the rotation's custom events and metrics (src/telemetry.ts):
 * the Azure Monitor OpenTelemetry distro, started once per worker when the
 * app has an Application Insights connection string.
 */
import { startAzureMonitor } from '../src/azure/azure-monitor.js';

startAzureMonitor();
