/**
 * How the CLI prints each answer of the operator API: plain-text tables and
 * key-value lines, read from the documented response shapes (docs/openapi.json).
 * Fields are read defensively: an older app that lacks one prints a blank.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the answers are the API's JSON, documented in docs/openapi.json */

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `2026-05-01T08:00:00.000Z` -> `2026-05-01 08:00Z`: minutes are enough at a glance. */
export function shortTime(iso: unknown): string {
  return typeof iso === 'string' ? iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z') : '';
}

const text = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

export function renderList(body: any): string {
  const rows = (body.accounts ?? []).map((a: any) => [
    text(a.account?.name),
    text(a.state),
    text(a.phase),
    text(a.activeKeyKind),
    shortTime(a.lastRotatedAt),
    a.due ? (a.due.due ? 'now' : shortTime(a.due.dueAt)) : '',
    a.problem ? `problem: ${a.problem}` : a.nextCheckAt ? `next check ${shortTime(a.nextCheckAt)}` : text(a.message),
  ]);
  return table(['ACCOUNT', 'STATE', 'PHASE', 'ACTIVE', 'LAST ROTATED', 'DUE', 'NOTE'], rows);
}

export function renderStatus(body: any): string {
  const status = body.status ?? {};
  const lines: Array<[string, unknown]> = [
    ['account', body.account?.name],
    ['state', body.state],
    ['phase', status.phase],
    ['message', status.message],
    ['rotation', status.rotationId ?? body.output?.rotationId],
    ['requested by', body.requestedBy],
    ['reason', body.reason],
    ['forced', body.force ? 'yes' : 'no'],
    ['active key', status.activeKeyKind ?? body.output?.activeKeyKind],
    ['next check', shortTime(status.nextCheckAt)],
    ['gives up at', shortTime(status.waitDeadline)],
    ['window opens', shortTime(status.windowOpensAt)],
    ['started', shortTime(body.createdAt)],
    ['last update', shortTime(body.lastUpdatedAt)],
    ['failure', body.failure?.message],
    ['cancelled', body.interruption ? `${text(body.interruption.reason)} (in ${text(body.interruption.phase)}): ${text(body.interruption.keys)}` : ''],
  ];
  return keyValues(lines);
}

export function renderPlan(body: any): string {
  const lines: Array<[string, unknown]> = [
    ['account', body.account?.name],
    ['would start', body.wouldStart ? 'yes' : `no: ${text(body.blockedBy)}`],
    ['due', body.due ? (body.due.due ? 'yes' : 'no') : ''],
    ['safe-rotation check', body.safeRotationCheckEnabled ? 'on' : 'off'],
    ['rotation windows', body.rotationWindow ? `${text(body.rotationWindow.windows)}${body.rotationWindow.openNow ? ' (open now)' : `; opens ${shortTime(body.rotationWindow.opensAt)}`}` : ''],
  ];
  const parts = [keyValues(lines)];
  for (const pair of body.pairs ?? []) {
    parts.push('', `${text(pair.pair)} (secret ${text(pair.secretName)}): active ${text(pair.activeKeyKind)} (from ${text(pair.activeKeySource)}), standby ${text(pair.standbyKeyKind)}`);
    (pair.steps ?? []).forEach((step: string, index: number) => parts.push(`  ${index + 1}. ${step}`));
  }
  parts.push('', 'Nothing was changed (dry run).');
  return parts.join('\n');
}

export function renderAccepted(body: any, verb: string): string {
  const lines = [`${verb}: ${text(body.account?.name)} (instance ${text(body.instanceId)})`];
  if (body.message) lines.push(text(body.message));
  if (body.interruption?.keys) lines.push(text(body.interruption.keys));
  if (body.links?.status) lines.push(`Follow it: cosmos-key-rotation status ${text(body.account?.name)}`);
  return lines.join('\n');
}

export function renderHistory(body: any): string {
  const rows = (body.rotations ?? []).map((r: any) => [
    text(r.rotationId ?? '(not started)'),
    `${text(r.trigger?.kind)}${r.force ? ' (forced)' : ''}`,
    text(r.state),
    shortTime(r.startedAt),
    shortTime(r.finishedAt),
    historyNote(r),
  ]);
  const footer = body.nextLink ? `\n${rows.length} of ${text(body.total)}; more: --skip ${Number(body.skip ?? 0) + rows.length}` : `\n${text(body.total)} rotation(s)`;
  return table(['ROTATION', 'TRIGGER', 'OUTCOME', 'STARTED', 'FINISHED', 'NOTE'], rows) + footer;
}

function historyNote(r: any): string {
  const notes: string[] = [];
  if (r.trigger?.reason) notes.push(text(r.trigger.reason));
  if (r.trigger?.resumedFrom?.length) notes.push(`resumed from ${r.trigger.resumedFrom.join(', ')}`);
  for (const ending of r.waitEndings ?? []) notes.push(`${text(ending.wait)} wait: ${text(ending.ended)}${ending.by ? ` by ${ending.by}` : ''}`);
  if (r.cancelled) notes.push(`cancelled in ${text(r.cancelled.phase)}`);
  if (r.attention) notes.push(`attention in ${text(r.attention.phase)}`);
  if (r.failure) notes.push(`failed: ${text(r.failure.message).slice(0, 80)}`);
  return notes.join('; ');
}

export function renderKeys(body: any): string {
  const rows: string[][] = [];
  for (const a of body.accounts ?? []) {
    if (a.problem) {
      rows.push([text(a.account?.name), '', '', '', '', '', `problem: ${text(a.problem)}`]);
      continue;
    }
    const secret = (a.secrets ?? [])[0];
    const ready = a.readyToDisableLocalAuth;
    const keys = a.keys ?? [];
    keys.forEach((k: any, index: number) => {
      rows.push([
        index === 0 ? text(a.account?.name) : '',
        `${text(k.keyKind)}${k.heldByKeyVault ? ' *' : ''}`,
        k.ageInDays === null ? '?' : text(k.ageInDays),
        shortTime(k.lastUsedAt) || 'never',
        index === 0 && secret ? (secret.ageInDays === null ? 'none' : `${text(secret.ageInDays)} / ${text(secret.rotationIntervalInDays)}`) : '',
        index === 0 ? (a.overdue ? 'yes' : 'no') : '',
        index === 0 ? (a.localAuthDisabled ? 'disabled already' : ready?.ready ? 'yes' : 'no') : '',
      ]);
    });
  }
  const out = [table(['ACCOUNT', 'KEY', 'AGE (D)', 'LAST USED', 'SECRET AGE/INTERVAL', 'OVERDUE', 'READY FOR ENTRA ID'], rows), '* the key Key Vault holds'];
  for (const a of body.accounts ?? []) {
    const caps = a.capabilities;
    if (caps) out.push(`${text(a.account?.name)}: key check before regeneration ${caps.keyCheckBeforeRegeneration ? 'on' : 'off'}, before disabling local auth ${caps.keyCheckBeforeDisablingLocalAuth ? 'on' : 'off'}; windows ${text(a.rotationWindows)}`);
    if (a.readyToDisableLocalAuth?.command) out.push(`  ${text(a.readyToDisableLocalAuth.reason)}\n  ${text(a.readyToDisableLocalAuth.command)}`);
  }
  return out.join('\n');
}

function keyValues(lines: Array<[string, unknown]>): string {
  const shown = lines.filter(([, value]) => value !== undefined && value !== null && value !== '');
  const width = Math.max(...shown.map(([name]) => name.length));
  return shown.map(([name, value]) => `${`${name}:`.padEnd(width + 1)} ${text(value)}`).join('\n');
}

/** The human view of an answer from its route: what the CLI prints for the same call (the demo prints it too). */
export function renderAnswer(path: string, body: unknown): string {
  const route = path.replace(/^\/api/, '').split('?')[0]!;
  if (route === '/rotations') return renderList(body);
  if (route === '/keys') return renderKeys(body);
  if (/^\/rotations\/[^/]+\/plan$/.test(route)) return renderPlan(body);
  if (/^\/rotations\/[^/]+\/history$/.test(route)) return renderHistory(body);
  if (/^\/rotations\/[^/]+$/.test(route)) return renderStatus(body);
  return JSON.stringify(body, null, 2);
}
