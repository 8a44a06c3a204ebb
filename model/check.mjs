#!/usr/bin/env node
// Runs the spin model of the rotation (model/rotation.pml): the protocol must check clean,
// every broken variant must produce a counterexample of the property it breaks, and every
// witness must be reached. Prints the state counts, the times and each counterexample's story.
//   node model/check.mjs           the checks npm test runs
//   node model/check.mjs --wide    also the protocol with larger operator and fault budgets
// Exit code: 0 all as expected, 1 something was not, 2 spin or gcc is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MODEL = join(dirname(fileURLToPath(import.meta.url)), 'rotation.pml');

/** What each property's assertion says, to tell which one a counterexample broke. */
const PROPERTIES = {
  P1: { marker: /opExcused/, says: 'a consumer that follows the contract never holds a regenerated key, unless forced or confirmed' },
  P2: { marker: /regThis|unpublished/, says: 'no key is regenerated twice in one rotation (one stopped after regenerating its standby goes on under its ID)' },
  P3: { marker: /phaseAge/, says: 'every phase, so every rotation, ends within its bounds' },
  P4: { marker: /kvKey==opKey/, says: 'Key Vault always holds a valid key' },
  P5: { marker: /kvKey==\(1-act\)/, says: 'a rotation writes one Key Vault version' },
};

const CHECKS = [
  { name: 'the protocol (issue 10, issue-10b: resume at validation)', flags: [], expect: 'clean' },
  // Each of issue 10's two fixes for its story 1 keeps P1 on its own (2 starts: the history already holds a stopped rotation).
  { name: 'only the resume of issue 10 (the standby wait looks at the last use alone)', flags: ['-DSTANDBY_IGNORES_PUBLISH', '-DCHECK_P1', '-DSTARTS=2'], expect: 'clean' },
  { name: 'only the standby rule of issue 10 (a restart starts over)', flags: ['-DSTART_OVER', '-DCHECK_P1', '-DSTARTS=2'], expect: 'clean' },
  { name: 'broken: a restart starts over and the standby wait ignores the publish time (the code before issue 10)', flags: ['-DSTART_OVER', '-DSTANDBY_IGNORES_PUBLISH', '-DCHECK_P1'], expect: 'P1' },
  { name: 'broken: the consumer wait trusts the lagging usage report', flags: ['-DWAIT_TRUSTS_USAGE', '-DCHECK_P1'], expect: 'P1' },
  { name: 'broken: a restart before publishing ignores the regeneration marker and starts over', flags: ['-DMARKER_IGNORED', '-DCHECK_P2'], expect: 'P2' },
  { name: 'broken: beginRegenerateKey ignores the generation time', flags: ['-DNO_ALREADY_CHECK', '-DCHECK_P2'], expect: 'P2' },
  { name: 'broken: safe-check refusals are retried without a deadline', flags: ['-DUNBOUNDED_REFUSALS', '-DCHECK_P3'], expect: 'P3' },
  { name: 'broken: the new key is published before its regeneration finished', flags: ['-DNO_MONITOR', '-DCHECK_P4'], expect: 'P4' },
  { name: 'broken: publishKey does not look for its own version', flags: ['-DPUBLISH_NOT_IDEMPOTENT', '-DCHECK_P5'], expect: 'P5' },
  { name: 'witness: a rotation ends rotated by waiting alone', flags: ['-DWITNESS_ROTATED', '-DCHECK_P1'], expect: 'witness' },
  { name: 'witness: a resumed rotation ends rotated', flags: ['-DWITNESS_RESUMED', '-DCHECK_P1'], expect: 'witness' },
  { name: 'witness: a rotation resumed at validation ends rotated', flags: ['-DWITNESS_VALIDATING', '-DCHECK_P1'], expect: 'witness' },
  { name: 'witness: a rotation ends rotated after safe-check refusals', flags: ['-DWITNESS_REFUSED', '-DCHECK_P1'], expect: 'witness' },
];
// Wider budgets (4 starts, 2 cancels, 2 crashes): the protocol stays clean, and dating the marker when it is
// written (MARK_AT_NOW) lets two stops regenerate an unpublished standby again (model/README.md, "What the model
// found"); about 40 million states, compressed (COLLAPSE), within 6 GB.
const WIDE_BUDGETS = ['-DSTARTS=4', '-DCANCELS=2', '-DCRASHES=2'];
const WIDE = [
  { name: 'the protocol, wider budgets (4 starts, 2 cancels, 2 crashes)', flags: [...WIDE_BUDGETS], expect: 'clean', pan: ['-DCOLLAPSE', '-DMEMLIM=6144'] },
  { name: 'broken, wider budgets: the marker dated when it is written; two stops regenerate an unpublished standby again', flags: [...WIDE_BUDGETS, '-DMARK_AT_NOW', '-DCHECK_P2'], expect: 'P2', pan: ['-DCOLLAPSE', '-DMEMLIM=6144'] },
];

function has(command, args) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

function run(check) {
  const dir = mkdtempSync(join(tmpdir(), 'model-check-'));
  try {
    copyFileSync(MODEL, join(dir, 'rotation.pml'));
    const started = process.hrtime.bigint();
    execFileSync('spin', ['-a', ...check.flags, 'rotation.pml'], { cwd: dir, stdio: 'pipe' });
    // MEMLIM (MB): a check that outgrows it stops instead of starving the machine.
    // -O2 pays off only for the big clean searches; a counterexample is usually found in seconds.
    const optimise = check.expect === 'clean' ? '-O2' : '-O0';
    const pan = check.pan ?? ['-DMEMLIM=3072'];
    execFileSync('gcc', [optimise, '-w', '-DSAFETY', ...pan, '-o', 'pan', 'pan.c'], { cwd: dir, stdio: 'pipe' });
    const search = spawnSync('./pan', ['-m1000000', '-w25'], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const out = search.stdout ?? '';
    const errors = Number(/errors: (\d+)/.exec(out)?.[1] ?? NaN);
    const states = Number(/([\d.e+]+) states, stored/.exec(out)?.[1] ?? NaN);
    const complete = !/Search not completed/.test(out) || errors > 0;
    const violated = /assertion violated (.*?) \(at depth/.exec(out)?.[1] ?? null;
    return { errors, states, seconds, complete, violated, story: errors > 0 ? storyOf(dir, check.flags) : [], raw: out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Replays the trail: the model's printf lines tell the counterexample as a story in virtual hours. */
function storyOf(dir, flags) {
  const replay = spawnSync('spin', ['-T', '-t', ...flags, 'rotation.pml'], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return (replay.stdout ?? '')
    .split('\n')
    .filter((line) => /^\d+ h: /.test(line) || /text of failed assertion/.test(line))
    .map((line) => line.replace(/^spin: text of failed assertion: /, 'violated: '));
}

function verdict(check, result) {
  if (!Number.isFinite(result.errors) || !result.complete) return `the search did not complete\n${result.raw.split('\n').filter((line) => !line.startsWith('Depth=')).join('\n')}`;
  if (check.expect === 'clean') return result.errors === 0 ? null : `expected no counterexample, got: ${result.violated}`;
  if (result.errors === 0) return 'expected a counterexample, the search found none';
  if (check.expect === 'witness') return result.violated?.includes('outcome') || result.violated?.includes('1==1') ? null : `unexpected assertion: ${result.violated}`;
  const { marker } = PROPERTIES[check.expect];
  return result.violated && marker.test(result.violated) ? null : `expected ${check.expect} to fail, but got: ${result.violated}`;
}

if (!has('spin', ['-V']) || !has('gcc', ['--version'])) {
  console.error('model-check: spin and gcc are needed (Debian: apt-get install -y spin gcc).');
  process.exit(2);
}

const checks = process.argv.includes('--wide') ? [...CHECKS, ...WIDE] : CHECKS;
let failures = 0;
let totalSeconds = 0;
console.log(`spin model ${MODEL}`);
for (const [id, { says }] of Object.entries(PROPERTIES)) console.log(`  ${id}: ${says}`);
for (const check of checks) {
  const result = run(check);
  totalSeconds += result.seconds;
  const problem = verdict(check, result);
  const found = result.errors > 0 ? `counterexample (${check.expect})` : 'clean';
  console.log(`\n${problem ? 'FAIL' : 'ok  '} ${check.name}: ${found}, ${result.states.toLocaleString('en')} states, ${result.seconds.toFixed(1)} s`);
  if (problem) {
    failures += 1;
    console.log(`     ${problem}`);
  }
  for (const line of result.story) console.log(`     ${line}`);
}
console.log(`\n${failures === 0 ? `all ${checks.length} checks as expected` : `${failures} of ${checks.length} checks NOT as expected`} (${totalSeconds.toFixed(1)} s)`);
process.exit(failures === 0 ? 0 : 1);
