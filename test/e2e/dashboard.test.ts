/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core
 * (both installed by the project: .ci/run installs chromium when it is
 * missing), against the app on the driver's HTTP server with seeded accounts.
 * The screenshot goes to test-results/dashboard/ (git-ignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { ApiHarness } from '../workflow/http-harness.js';
import { HOUR_MS, SAFE_CHECK } from '../workflow/rotation-harness.js';

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path): path is string => !!path && existsSync(path));
const SCREENSHOT_DIR = 'test-results/dashboard';
const MISSING = 'chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH)';

if (!CHROMIUM && process.env.CI !== 'true') console.warn(`dashboard browser test skipped: ${MISSING}`);

describe('the dashboard in headless Chromium', () => {
  it.runIf(!CHROMIUM && process.env.CI === 'true')('when CI runs without chromium, then the browser test fails instead of skipping', () => {
    throw new Error(`${MISSING}: .ci/run installs it`);
  });

  it.skipIf(!CHROMIUM)('when an operator opens it, then it shows the fleet, key ages and one account\'s history as the API does, sends only GETs and never shows a key', async () => {
    const api = await ApiHarness.start({ accounts: [{ name: 'orders', capabilities: [SAFE_CHECK] }, { name: 'billing' }] });
    const browser = await chromium.launch({ executablePath: CHROMIUM!, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      await api.rotation.seedSecretByHand('orders', 'primary');
      await api.call('POST', '/rotations', { account: 'orders', force: true, reason: 'first' });
      await api.rotation.runUntil(new Date(api.clock.nowMs() + 2 * HOUR_MS));
      await api.call('POST', '/rotations', { account: 'orders', reason: 'quarterly' });
      await api.rotation.runUntil(new Date(api.clock.nowMs() + HOUR_MS));
      await api.call('POST', '/rotations', { account: 'billing', reason: 'first of billing' });
      await api.rotation.runUntil(new Date(api.clock.nowMs() + 10 * 60_000));
      await api.call('POST', '/rotations/billing/cancel', { reason: 'wrong window' });
      await api.rotation.runUntil(new Date(api.clock.nowMs() + 60_000));
      const list = (await api.call('GET', '/rotations')).body as { accounts: Array<{ account: { name: string }; state: string; phase: string | null }> };
      const history = (await api.call('GET', '/rotations/orders/history')).body as { total: number; rotations: Array<{ rotationId: string; state: string }> };

      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const methods: string[] = [];
      page.on('request', (request) => methods.push(`${request.method()} ${new URL(request.url()).pathname}`));
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${api.driver.baseUrl}/api/dashboard?code=test-function-key`);
      await page.waitForSelector('body[data-loaded="true"]');
      await page.waitForSelector('#history tbody tr');

      const fleet = await page.$$eval('#fleet tbody tr', (rows) => rows.map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      expect(fleet.map((cells) => [cells[0], cells[1], cells[2]])).toEqual(list.accounts.map((a) => [a.account.name, a.state, a.phase ?? '']));
      expect(fleet[0]![3]).toMatch(/next check 2026-05-0\dT?\s?\d\d:\d\dZ; gives up/);
      expect(fleet[0]![5]).toMatch(/^primary [\d.]+, secondary [\d.]+, primaryReadonly [\d.]+, secondaryReadonly [\d.]+$/);
      expect(fleet[1]![1]).toBe('cancelled');
      const rows = await page.$$eval('#history tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-rotation')));
      expect(rows).toEqual(history.rotations.map((r) => r.rotationId));
      expect(await page.textContent('#detail-title')).toBe(`orders: ${history.total} rotation(s)`);
      expect(await page.$$eval('#history .timeline span', (spans) => spans.length)).toBeGreaterThan(4);
      expect(errors).toEqual([]);
      expect(methods.every((m) => m.startsWith('GET '))).toBe(true);
      expect(methods).toEqual(expect.arrayContaining(['GET /api/dashboard', 'GET /api/rotations', 'GET /api/keys', 'GET /api/rotations/orders/history']));

      api.rotation.collectKeys();
      const content = await page.content();
      expect([...api.rotation.issuedKeys].filter((key) => content.includes(key))).toEqual([]);

      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: `${SCREENSHOT_DIR}/dashboard.png`, fullPage: true });
      expect(existsSync(`${SCREENSHOT_DIR}/dashboard.png`)).toBe(true);
    } finally {
      await browser.close();
      await api.close();
    }
  });
});
