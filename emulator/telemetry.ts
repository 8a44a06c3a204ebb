/**
 * OpenTelemetry as the app's telemetry module sees it in Azure, but exported
 * to memory (for the tests and the demo): the SDK's own InMemoryLogRecordExporter (custom events) and a
 * metric reader collected on demand (InMemoryMetricExporter's data shape).
 */
import { metrics } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { CUSTOM_EVENT_NAME_ATTRIBUTE, resetTelemetryState } from '../src/telemetry.js';

export interface InMemoryTelemetry {
  /** Custom events (log records with microsoft.custom_event.name), in order. */
  customEvents(): Array<{ name: string; attributes: Record<string, unknown>; body: unknown }>;
  /** Every log record (custom events included), as exported. */
  logRecords(): Array<{ attributes: Record<string, unknown>; body: unknown }>;
  /** Metric points by name: attributes and value (sum, last value, or histogram count and sum). */
  metricPoints(name: string): Promise<Array<{ attributes: Record<string, unknown>; value: unknown }>>;
  /** Every exported record as JSON text, for the leak scan. */
  texts(): Promise<string[]>;
  reset(): void;
  shutdown(): Promise<void>;
}

export function installInMemoryTelemetry(): InMemoryTelemetry {
  logs.disable();
  metrics.disable();
  resetTelemetryState();
  const logExporter = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
  logs.setGlobalLoggerProvider(loggerProvider);
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when asked (forceFlush): no timers that run on real time.
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 2_147_483_647 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);

  const records = (): ReadableLogRecord[] => logExporter.getFinishedLogRecords();
  const collect = async (): Promise<ResourceMetrics | undefined> => {
    metricExporter.reset();
    await reader.forceFlush();
    return metricExporter.getMetrics().at(-1);
  };
  return {
    customEvents: () =>
      records()
        .filter((record) => typeof record.attributes[CUSTOM_EVENT_NAME_ATTRIBUTE] === 'string')
        .map((record) => ({ name: record.attributes[CUSTOM_EVENT_NAME_ATTRIBUTE] as string, attributes: { ...record.attributes }, body: record.body })),
    logRecords: () => records().map((record) => ({ attributes: { ...record.attributes }, body: record.body })),
    metricPoints: async (name) => {
      const collected = await collect();
      const points: Array<{ attributes: Record<string, unknown>; value: unknown }> = [];
      for (const scope of collected?.scopeMetrics ?? []) {
        for (const metric of scope.metrics) {
          if (metric.descriptor.name !== name) continue;
          for (const point of metric.dataPoints) points.push({ attributes: { ...point.attributes }, value: point.value });
        }
      }
      return points;
    },
    texts: async () => {
      const collected = await collect();
      return [...records().map((record) => JSON.stringify({ body: record.body, attributes: record.attributes })), JSON.stringify(collected ?? {})];
    },
    reset: () => logExporter.reset(),
    shutdown: async () => {
      await loggerProvider.shutdown();
      await meterProvider.shutdown();
      logs.disable();
      metrics.disable();
      resetTelemetryState();
    },
  };
}
