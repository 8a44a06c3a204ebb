import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../../src/cli/main.js';
import { ApiHarness } from './http-harness.js';
import { HOUR_MS } from './rotation-harness.js';

const execFileAsync = promisify(execFile);

/** The CLI against the driver's HTTP server, as an operator runs it: output captured, exit code returned. */
async function cli(api: ApiHarness, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    env: { COSMOS_ROTATION_URL: api.driver.baseUrl, COSMOS_ROTATION_KEY: 'test-function-key' },
    stdout: (text) => void (out += text),
    stderr: (text) => void (err += text),
  });
  return { code, out, err };
}

describe('the cosmos-key-rotation CLI against the app on the driver', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start({ accounts: [{ name: 'orders' }, { name: 'billing' }] });
    await api.rotation.seedSecretByHand('orders', 'primary');
  });
  afterAll(async () => api?.close());

  it('when an operator lists, plans, starts, follows, confirms and reads the history, then each command prints what the API says', async () => {
    const list = await cli(api, 'list');
    expect(list.code).toBe(EXIT.ok);
    expect(list.out.split('\n')[0]).toMatch(/^ACCOUNT\s+STATE\s+PHASE\s+ACTIVE\s+LAST ROTATED\s+DUE\s+NOTE$/);
    // A secret put there by hand carries no keyKind tag: the list cannot say which key it is.
    expect(list.out).toMatch(/^orders\s+neverRotated\s+2026-05-01 08:00Z\s+2026-05-31 08:00Z/m);
    expect(list.out).toMatch(/^billing\s+neverRotated\s+now/m);

    const plan = await cli(api, 'plan', 'orders');
    expect(plan.code).toBe(EXIT.ok);
    expect(plan.out).toContain('would start:         yes');
    expect(plan.out).toContain('readWrite (secret orders-key): active primary (from keyVault), standby secondary');
    expect(plan.out).toContain('Nothing was changed (dry run).');

    const start = await cli(api, 'start', 'orders', '--reason', 'quarterly');
    expect(start.code).toBe(EXIT.ok);
    expect(start.out).toMatch(/^Started: orders \(instance cosmos-rotation--.*--orders\)\nFollow it: cosmos-key-rotation status orders\n$/);

    const running = await cli(api, 'start', 'orders');
    expect(running.code).toBe(EXIT.apiError);
    expect(running.err).toMatch(/^error: rotationRunning: A rotation of orders is already running/);

    await api.rotation.runUntil(new Date(api.clock.nowMs() + HOUR_MS));
    const status = await cli(api, 'status', 'orders');
    expect(status.out).toMatch(/^phase:\s+waitingForConsumers$/m);
    expect(status.out).toMatch(/^reason:\s+quarterly$/m);

    const confirm = await cli(api, 'confirm', 'orders', '--by', 'alice');
    expect(confirm.code).toBe(EXIT.ok);
    expect(confirm.out).toContain('Sent: the rotation goes on to regenerate the old key primary');
    await api.rotation.runUntil(new Date(api.clock.nowMs() + HOUR_MS));

    const history = await cli(api, 'history', 'orders');
    expect(history.code).toBe(EXIT.ok);
    expect(history.out).toMatch(/^orders-20260501T080000Z\s+operator\s+rotated\s+2026-05-01 08:00Z\s+2026-05-01 09:\d\dZ\s+quarterly; consumers wait: operator/m);
    expect(history.out.trimEnd().endsWith('1 rotation(s)')).toBe(true);

    const json = await cli(api, 'history', 'orders', '--json');
    expect(JSON.parse(json.out)).toMatchObject({ total: 1, rotations: [{ state: 'rotated' }] });

    const keys = await cli(api, 'keys');
    expect(keys.code).toBe(EXIT.ok);
    expect(keys.out).toMatch(/^orders\s+primary\s+0\s+never\s+[\d.]+ \/ 30\s+no\s+no$/m);
    expect(keys.out).toMatch(/^\s+secondary \*\s+[\d.]+\s+2026-05-01 08:\d\dZ$/m);
    expect(keys.out).toContain('* the key Key Vault holds');
  });

  it('when a rotation is cancelled from the CLI, then it needs a reason and prints where the keys stand', async () => {
    const noReason = await cli(api, 'cancel', 'billing');
    expect(noReason.code).toBe(EXIT.usage);
    expect(noReason.err).toContain('cancel needs --reason <text>');

    expect((await cli(api, 'start', 'billing')).code).toBe(EXIT.ok);
    await api.rotation.runUntil(new Date(api.clock.nowMs() + 10 * 60_000));
    const cancel = await cli(api, 'cancel', 'billing', '--reason', 'wrong account');
    expect(cancel.code).toBe(EXIT.ok);
    expect(cancel.out).toMatch(/^Cancelling: billing/);

    const again = await cli(api, 'cancel', 'billing', '--reason', 'twice');
    await api.rotation.runUntil(new Date(api.clock.nowMs() + 60_000));
    const after = await cli(api, 'cancel', 'billing', '--reason', 'twice');
    expect([again.code, after.code]).toContain(EXIT.apiError);
    expect(after.err).toMatch(/^error: notRunning: No rotation of billing is running/);
  });

  it('when the command, its arguments or the URL are wrong, then it exits 2 with the usage; an unknown account exits 1 with the API message', async () => {
    expect(await cli(api, 'rotate', 'orders')).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('unknown command "rotate"') });
    expect(await cli(api, 'status')).toMatchObject({ code: EXIT.usage, err: expect.stringContaining('status needs <account>') });
    expect(await cli(api, 'list', '--verbose')).toMatchObject({ code: EXIT.usage, err: expect.stringContaining("Unknown option '--verbose'") });
    expect(await cli(api, 'history', 'orders', '--top', '0')).toMatchObject({ code: EXIT.apiError, err: expect.stringContaining('invalidQuery') });
    const unknown = await cli(api, 'status', 'payments');
    expect(unknown.code).toBe(EXIT.apiError);
    expect(unknown.err).toContain('error: accountNotConfigured: The account "payments" is not configured');

    let err = '';
    const noUrl = await runCli(['list'], { env: {}, stdout: () => {}, stderr: (text) => void (err += text) });
    expect(noUrl).toBe(EXIT.usage);
    expect(err).toContain('name the function app with --url <url> or COSMOS_ROTATION_URL');
    const plainHttp = await runCli(['list', '--url', 'http://func.example.net'], { env: {}, stdout: () => {}, stderr: (text) => void (err += text) });
    expect(plainHttp).toBe(EXIT.usage);
    expect(err).toContain('must be https');
  });

  it('when every command is asked for --help, then each prints its own usage and exits 0', async () => {
    for (const command of ['status', 'list', 'plan', 'start', 'confirm', 'cancel', 'history', 'keys']) {
      const help = await cli(api, command, '--help');
      expect(help.code, command).toBe(EXIT.ok);
      expect(help.out, command).toMatch(new RegExp(`^Usage: cosmos-key-rotation ${command}\\b`));
      expect(help.out).toContain('--url <url>');
    }
    expect((await cli(api, '--help')).out).toContain('Commands:');
  });

  it('when nothing listens at the URL, then it exits 3 naming the URL', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    let err = '';
    const code = await runCli(['list', '--url', `http://127.0.0.1:${port}`], { env: {}, stdout: () => {}, stderr: (text) => void (err += text) });
    expect(code).toBe(EXIT.unreachable);
    expect(err).toContain(`cannot reach http://127.0.0.1:${port}/api (ECONNREFUSED)`);
  });

  it('when the Functions host refuses the function key with a bare 401, then it exits 1 and says which setting to fix', async () => {
    // The driver does not check function keys; the host answers a wrong one with 401 and no body (docs/openapi.json).
    const seen: Array<Record<string, unknown>> = [];
    const host = createServer((request, response) => {
      seen.push(request.headers);
      response.writeHead(401).end();
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    let err = '';
    const url = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
    const code = await runCli(['keys', '--url', url, '--key', 'wrong'], { env: {}, stdout: () => {}, stderr: (text) => void (err += text) });
    await runCli(['keys', '--url', url], { env: { COSMOS_ROTATION_TOKEN: 'entra-token' }, stdout: () => {}, stderr: () => {} });
    await new Promise<void>((resolve) => host.close(() => resolve()));
    expect(code).toBe(EXIT.apiError);
    expect(err).toBe('error: HTTP 401: the function key or token is missing or wrong (--key or COSMOS_ROTATION_KEY; --token or COSMOS_ROTATION_TOKEN)\n');
    expect(seen.map((headers) => [headers['x-functions-key'], headers.authorization])).toEqual([
      ['wrong', undefined],
      [undefined, 'Bearer entra-token'],
    ]);
  });

  it('when run through its bin, then the same CLI answers with its exit code', async () => {
    const { stdout } = await execFileAsync(process.execPath, ['bin/cosmos-key-rotation.mjs', 'list', '--url', api.driver.baseUrl], { env: { ...process.env } });
    expect(stdout).toMatch(/^orders\s+rotated/m);
    const failed = await execFileAsync(process.execPath, ['bin/cosmos-key-rotation.mjs', 'status', 'payments', '--url', api.driver.baseUrl]).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('accountNotConfigured') });
  });
});
