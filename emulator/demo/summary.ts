/**
 * The end-of-run summary as people read it: per account what happened and
 * why it waited, what the consumers saw, what it cost in calls, and whether
 * the scenario's expectations held.
 */
import type { AccountReport, DemoReport } from './report.js';
import { formatDuration } from './scenario.js';
import { plural, wrapText } from './text.js';

const WAIT_NAMES = { standbyIdle: 'standby wait', consumers: 'consumer wait', refusals: 'safe-check refusals' } as const;
const ENDED_HOW = { idle: 'ended idle', operator: 'ended by an operator', forced: 'skipped (forced)', boundPassed: 'passed its bound' } as const;

/** A fleet gets counts by outcome and its first few accounts of each, not a block per account. */
const MAX_ACCOUNT_BLOCKS = 20;
const FLEET_NAMES_SHOWN = 5;

/** Long reasons wrap at this width instead of being cut (they name what to fix). */
const WRAP_WIDTH = 120;

export function formatSummary(report: DemoReport): string {
  const lines: string[] = [];
  const verdict = report.passed ? 'PASSED' : 'FAILED';
  lines.push('');
  const stopped = { runFor: '', allRotated: ', ended when every account was rotated', wallClock: ', STOPPED by the wall-clock guard' }[report.progress.stoppedBy];
  lines.push(`== ${report.scenario.name}: ${verdict} (virtual ${formatDuration(report.progress.virtualMs)} in ${(report.wallClockMs / 1000).toFixed(1)} s of wall clock${stopped})`);
  lines.push('');
  lines.push('Accounts');
  const width = Math.max(...report.accounts.map((account) => account.name.length), 7);
  const named = accountNamer(report.accounts.length > MAX_ACCOUNT_BLOCKS ? [] : report.accounts);
  if (report.accounts.length > MAX_ACCOUNT_BLOCKS) lines.push(...fleetLines(report));
  for (const account of report.accounts.length > MAX_ACCOUNT_BLOCKS ? [] : report.accounts) {
    const under = `  ${''.padEnd(width)}  `;
    const detail = (text: string): void => {
      lines.push(`${under}${wrapText(named(text), WRAP_WIDTH - under.length, '  ').replaceAll('\n', `\n${under}`)}`);
    };
    // When Azure finished each regeneration (the emulator's key generation time); the timeline says the same time.
    const regenerated = account.regenerations.length
      ? `Azure finished regenerating ${account.regenerations.map((entry) => `${entry.keyKind} at +${formatDuration(entry.offsetMs)}`).join(', ')}`
      : 'no key regenerated';
    lines.push(`  ${account.name.padEnd(width)}  ${account.outcome.padEnd(14)} Key Vault holds ${account.activeKeyKind ?? 'nothing'}; ${regenerated}`);
    const runs = account.runs.length > 1 ? account.runs.map((run) => `${run.force ? 'forced ' : ''}${run.outcome}`).join(' -> ') : null;
    if (runs) detail(`runs: ${runs}`);
    for (const wait of account.waits) detail(`waited ${formatDuration(wait.durationMs)} in ${wait.phase}: ${wait.reason}`);
    if (account.waitEndings?.length) {
      const many = account.runs.length > 1;
      const endings = account.waitEndings.map((entry) => {
        const who = entry.ended === 'operator' ? ` (${[entry.by ?? 'an operator', entry.note].filter(Boolean).join(': ')})` : '';
        return `${many ? `run ${entry.run} ` : ''}${WAIT_NAMES[entry.wait]} ${ENDED_HOW[entry.ended]}${who} at +${formatDuration(entry.offsetMs)}`;
      });
      detail(`waits ended: ${endings.join('; ')}`);
    }
    const last = account.runs[account.runs.length - 1];
    if (last?.message && account.outcome !== 'rotated') detail(last.message);
    if (account.retries) {
      const { blockedRegenerations, validationFailures, regenerationPolls, usageChecks, outageRetries, busyAnswers } = account.retries;
      const retries = [
        blockedRegenerations ? plural(blockedRegenerations, 'refused regeneration') : '',
        validationFailures ? plural(validationFailures, 'failed validation probe') : '',
        outageRetries ? plural(outageRetries, 'outage retry', 'outage retries') : '',
        busyAnswers ? plural(busyAnswers, 'busy answer') : '',
      ].filter(Boolean);
      if (retries.length) detail(`retried after: ${retries.join(', ')}`);
      const checks = [regenerationPolls ? plural(regenerationPolls, 'regeneration status poll') : '', usageChecks ? plural(usageChecks, 'usage check') : ''].filter(Boolean);
      if (checks.length) detail(`routine checks: ${checks.join(', ')}`);
    }
  }
  lines.push('');
  const consumers = report.consumers;
  const causes = Object.entries(consumers.failuresByCause)
    .map(([cause, count]) => `${count} ${cause}`)
    .join(', ');
  lines.push(
    `Consumers    ${plural(consumers.calls, 'data-plane call')}, ${consumers.failures} failed${causes ? ` (${causes})` : ''}; ` +
      `${plural(consumers.keyVaultReads, 'Key Vault read')}${consumers.keyVaultReadFailures ? `, ${consumers.keyVaultReadFailures} failed` : ''}`,
  );
  for (const consumer of consumers.byConsumer.filter((item) => item.failures > 0)) {
    const byCause = Object.entries(consumer.failuresByCause)
      .map(([cause, count]) => `${count} ${cause}`)
      .join(', ');
    lines.push(`             ${consumer.name}: ${consumer.failures} of ${plural(consumer.calls, 'call')} failed (${byCause})`);
  }
  lines.push(`ARM          ${plural(report.arm.total, 'request')}: ${operations(report.arm.byOperation)}`);
  lines.push(`             by status: ${statuses(report.arm.byStatus)}`);
  const { reads, writes } = report.armPacing.max;
  const subscriptions = Object.keys(report.armPacing.bySubscription).length;
  lines.push(
    `             peak per subscription (${plural(subscriptions, 'subscription')}): reads ${reads.perSecond} in a second, ${reads.perMinute} in a minute; ` +
      `writes ${writes.perSecond} in a second, ${writes.perMinute} in a minute`,
  );
  lines.push(`Key Vault    ${plural(report.keyVault.total, 'request')} (${report.keyVault.byConsumers} by consumers): ${operations(report.keyVault.byOperation)}`);
  lines.push(`             by status: ${statuses(report.keyVault.byStatus)}`);
  if (report.timerRuns.length) {
    const most = report.timerRuns.reduce((top, run) => (total(run.keyVault) > total(top.keyVault) ? run : top));
    const valuesRead = report.timerRuns.reduce((count, run) => count + run.keyValuesRead, 0);
    lines.push(
      `Schedule     ${plural(report.timerRuns.length, 'timer run')}; the busiest made ${plural(total(most.keyVault), 'Key Vault request')} (${operations(most.keyVault)}) ` +
        `and ${plural(total(most.arm), 'ARM request')}; ${valuesRead ? `${plural(valuesRead, 'secret value')} read` : 'no secret value read'}; longest log line ${report.longestLogLine.chars} characters`,
    );
  }
  lines.push(`Cosmos DB    ${plural(report.cosmosDataPlane.total, 'data-plane request')} (consumers and validation probes)`);
  const byType = Object.entries(report.events.byType)
    .map(([type, count]) => `${count} ${type}`)
    .join(', ');
  lines.push(
    `Events       ${plural(report.events.total, 'rotation event')} on the Event Grid topic${byType ? `: ${byType}` : ''}${report.events.resends ? ` (${report.events.resends} resent after a crash, same id)` : ''}; ${plural(report.events.telemetryRecords, 'telemetry record')}`,
  );
  const durable = report.durable;
  lines.push(
    `Durable      ${plural(durable.instances, 'orchestration')}, ${plural(durable.episodes, 'episode')}, ${plural(durable.historyEvents, 'history event')}, ` +
      `${plural(durable.activityCalls, 'activity call')}, ${plural(durable.timersCreated, 'timer')}${durable.crashes ? `, ${plural(durable.crashes, 'host crash', 'host crashes')}` : ''}`,
  );
  const scanned = report.leaks.scanned;
  const scannedText =
    `${plural(scanned.histories, 'history', 'histories')}, ${plural(scanned.customStatuses, 'custom status', 'custom statuses')}, ` +
    `${plural(scanned.outputs, 'output')}, ${plural(scanned.logLines, 'log line')}, ${plural(scanned.httpResponses, 'HTTP response')}, ` +
    `${plural(scanned.taskHubFiles, 'task hub file')}, ${plural(scanned.events, 'event')}, ${plural(scanned.telemetry, 'telemetry record')}`;
  if (report.leaks.found.length === 0) {
    lines.push(`Leaks        none: ${plural(report.leaks.keyValuesChecked, 'key value')} searched for in ${scannedText}`);
  } else {
    lines.push(`Leaks        ${report.leaks.found.length} FOUND (${plural(report.leaks.keyValuesChecked, 'key value')}, ${scannedText}):`);
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

function statuses(byStatus: Record<string, number>): string {
  return (
    Object.entries(byStatus)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, count]) => `${status} ${count}`)
      .join(', ') || 'none'
  ) + (byStatus['429'] ? '' : ' (no 429)');
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

/** Counts by outcome, the first few names of each, and when the last account was rotated. */
function fleetLines(report: DemoReport): string[] {
  const byOutcome = new Map<string, string[]>();
  for (const account of report.accounts) byOutcome.set(account.outcome, [...(byOutcome.get(account.outcome) ?? []), account.name]);
  const lines = [...byOutcome].map(([outcome, names]) => {
    const shown = names.slice(0, FLEET_NAMES_SHOWN).join(', ');
    return `  ${String(names.length).padStart(5)} ${outcome.padEnd(14)} ${shown}${names.length > FLEET_NAMES_SHOWN ? `, ... ${names.length - FLEET_NAMES_SHOWN} more` : ''}`;
  });
  const { progress } = report;
  lines.push(
    progress.allRotatedOffsetMs === null
      ? `  ${progress.rotatedAccounts} of ${progress.configuredAccounts} configured accounts rotated by the end`
      : `  all ${progress.configuredAccounts} configured accounts rotated by +${formatDuration(progress.allRotatedOffsetMs)}`,
  );
  return lines;
}

function operations(byOperation: Record<string, number>): string {
  return (
    Object.entries(byOperation)
      .sort((a, b) => b[1] - a[1])
      .map(([name, count]) => `${name} ${count}`)
      .join(', ') || 'none'
  );
}

/**
 * The app's messages name accounts by their full resource ID (right in a log);
 * in the summary the account's name says the same in a tenth of the width.
 * The JSON report keeps the messages as the app wrote them.
 */
function accountNamer(accounts: readonly AccountReport[]): (text: string) => string {
  const byId = accounts.map((account) => ({ pattern: new RegExp(escapeRegExp(account.id), 'gi'), name: account.name }));
  return (text) => byId.reduce((result, { pattern, name }) => result.replace(pattern, name), text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
