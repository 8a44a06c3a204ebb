/**
 * The end-of-run summary as people read it: per account what happened and
 * why it waited, what the consumers saw, what it cost in calls, and whether
 * the scenario's expectations held.
 */
import type { DemoReport } from './report.js';
import { formatDuration } from './scenario.js';

export function formatSummary(report: DemoReport): string {
  const lines: string[] = [];
  const verdict = report.passed ? 'PASSED' : 'FAILED';
  lines.push('');
  lines.push(`== ${report.scenario.name}: ${verdict} (virtual ${formatDuration(report.scenario.runForMs)} in ${(report.wallClockMs / 1000).toFixed(1)} s of wall clock)`);
  lines.push('');
  lines.push('Accounts');
  const width = Math.max(...report.accounts.map((account) => account.name.length), 7);
  for (const account of report.accounts) {
    const regenerated = account.regenerations.length
      ? account.regenerations.map((entry) => `${entry.keyKind} at +${formatDuration(entry.offsetMs)}`).join(', ')
      : 'no key';
    lines.push(`  ${account.name.padEnd(width)}  ${account.outcome.padEnd(14)} Key Vault holds ${account.activeKeyKind ?? 'nothing'}; regenerated ${regenerated}`);
    const runs = account.runs.length > 1 ? account.runs.map((run) => `${run.force ? 'forced ' : ''}${run.outcome}`).join(' -> ') : null;
    if (runs) lines.push(`  ${''.padEnd(width)}  runs: ${runs}`);
    for (const wait of account.waits) {
      lines.push(`  ${''.padEnd(width)}  waited ${formatDuration(wait.hours * 3_600_000)} in ${wait.phase}: ${shorten(wait.reason, 150)}`);
    }
    const last = account.runs[account.runs.length - 1];
    if (last?.message && account.outcome !== 'rotated') lines.push(`  ${''.padEnd(width)}  ${last.message}`);
    if (account.retries) {
      const retries = Object.entries(account.retries)
        .filter(([, count]) => count > 0)
        .map(([name, count]) => `${count} ${name}`)
        .join(', ');
      if (retries) lines.push(`  ${''.padEnd(width)}  retries: ${retries}`);
    }
  }
  lines.push('');
  const consumers = report.consumers;
  const causes = Object.entries(consumers.failuresByCause)
    .map(([cause, count]) => `${count} ${cause}`)
    .join(', ');
  lines.push(
    `Consumers    ${consumers.calls} data-plane calls, ${consumers.failures} failed${causes ? ` (${causes})` : ''}; ` +
      `${consumers.keyVaultReads} Key Vault reads${consumers.keyVaultReadFailures ? `, ${consumers.keyVaultReadFailures} failed` : ''}`,
  );
  for (const consumer of consumers.byConsumer.filter((item) => item.failures > 0)) {
    const byCause = Object.entries(consumer.failuresByCause)
      .map(([cause, count]) => `${count} ${cause}`)
      .join(', ');
    lines.push(`             ${consumer.name}: ${consumer.failures} of ${consumer.calls} calls failed (${byCause})`);
  }
  lines.push(`ARM          ${report.arm.total} requests: ${operations(report.arm.byOperation)}`);
  lines.push(`Key Vault    ${report.keyVault.total} requests (${report.keyVault.byConsumers} by consumers): ${operations(report.keyVault.byOperation)}`);
  lines.push(`Cosmos DB    ${report.cosmosDataPlane.total} data-plane requests (consumers and validation probes)`);
  const durable = report.durable;
  lines.push(
    `Durable      ${durable.instances} orchestration(s), ${durable.episodes} episodes, ${durable.historyEvents} history events, ` +
      `${durable.activityCalls} activity calls, ${durable.timersCreated} timers${durable.crashes ? `, ${durable.crashes} host crash(es)` : ''}`,
  );
  const scanned = report.leaks.scanned;
  const scannedText =
    `${scanned.histories} histories, ${scanned.customStatuses} custom statuses, ${scanned.outputs} outputs, ${scanned.logLines} log lines, ` +
    `${scanned.httpResponses} HTTP responses, ${scanned.taskHubFiles} task hub files`;
  if (report.leaks.found.length === 0) {
    lines.push(`Leaks        none: ${report.leaks.keyValuesChecked} key values searched for in ${scannedText}`);
  } else {
    lines.push(`Leaks        ${report.leaks.found.length} FOUND (${report.leaks.keyValuesChecked} key values, ${scannedText}):`);
    for (const leak of report.leaks.found.slice(0, 10)) lines.push(`             ${leak.account} ${leak.keyKind} key in ${leak.where}`);
  }
  lines.push('');
  if (report.passed) lines.push('Expectations: all met');
  else {
    lines.push('Expectations NOT met:');
    for (const failure of report.expectationFailures) lines.push(`  - ${failure}`);
  }
  return lines.join('\n');
}

function operations(byOperation: Record<string, number>): string {
  return (
    Object.entries(byOperation)
      .sort((a, b) => b[1] - a[1])
      .map(([name, count]) => `${name} ${count}`)
      .join(', ') || 'none'
  );
}

/** Long app messages (with resource IDs and ARM's own text) stay whole in the JSON report. */
function shorten(text: string, maxLength: number): string {
  return text.length <= maxLength ? text : `${text.slice(0, maxLength - 3)}...`;
}
