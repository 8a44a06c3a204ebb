/**
 * The leak check: every key value the emulator ever issued (current ones and
 * those since regenerated) is searched for in every text the app produced or
 * stored: orchestration histories, custom statuses, outputs, log lines, HTTP
 * responses, the task hub's files, the rotation events on the Event Grid topic
 * and the telemetry records. Key values are 64 random bytes in
 * base64: a match is never a coincidence.
 */
import type { KeyKind } from '../azure/contracts.js';
import type { LeakFinding, LeakSummary } from './report.js';

export type LeakSourceKind = keyof LeakSummary['scanned'];

interface KnownKey {
  account: string;
  keyKind: KeyKind;
}

export class LeakScanner {
  private readonly keys = new Map<string, KnownKey>();
  private readonly texts: Array<{ kind: LeakSourceKind; where: string; text: string }> = [];
  private readonly seenTexts = new Set<string>();
  /** URL-encoded form -> the key value it encodes. */
  private readonly variants = new Map<string, string>();

  /** Remembers a key value (call whenever the emulator's keys are observed). */
  addKey(value: string, key: KnownKey): void {
    if (!value || this.keys.has(value)) return;
    this.keys.set(value, key);
    // The same key inside a URL or a form body.
    const encoded = encodeURIComponent(value);
    if (encoded !== value) this.variants.set(encoded, value);
  }

  /** Keeps a text for the final scan; identical texts of the same kind are kept once. */
  addText(kind: LeakSourceKind, where: string, text: string): void {
    const dedupeKey = `${kind}\u0000${text}`;
    if (!text || this.seenTexts.has(dedupeKey)) return;
    this.seenTexts.add(dedupeKey);
    this.texts.push({ kind, where, text });
  }

  get keyCount(): number {
    return this.keys.size;
  }

  /**
   * Searches every text for every key. Runs at the end, when every key value is
   * known: a text may hold a key that was only regenerated later.
   */
  scan(currentValues: ReadonlySet<string>): LeakSummary {
    const scanned: LeakSummary['scanned'] = { histories: 0, customStatuses: 0, outputs: 0, logLines: 0, httpResponses: 0, taskHubFiles: 0, events: 0, telemetry: 0 };
    const found: LeakFinding[] = [];
    const finder = new NeedleFinder([...this.keys.keys(), ...this.variants.keys()]);
    for (const { kind, where, text } of this.texts) {
      scanned[kind] += 1;
      const present = finder.find(text);
      if (present.size === 0) continue;
      const hits = new Set<string>();
      for (const value of this.keys.keys()) if (present.has(value)) hits.add(value);
      for (const [encoded, value] of this.variants) if (present.has(encoded)) hits.add(value);
      for (const value of hits) {
        const key = this.keys.get(value)!;
        found.push({ where, account: key.account, keyKind: key.keyKind, current: currentValues.has(value) });
      }
    }
    return { keyValuesChecked: this.keys.size, scanned, found };
  }
}

/** Characters of base64 (key values) and of their URL-encoded forms. */
const NEEDLE_CHARS = /^[A-Za-z0-9+/=%]+$/;

/**
 * Finds which of many needles occur in a text in one pass over it, not one per
 * needle: a needle made of NEEDLE_CHARS lies inside a run of those characters,
 * so only such runs are looked at, by a prefix of the needles. Others are
 * searched for one by one.
 */
class NeedleFinder {
  private readonly prefixLength: number;
  private readonly byPrefix = new Map<string, string[]>();
  private readonly others: string[] = [];
  private readonly runs: RegExp;

  constructor(needles: readonly string[]) {
    const indexed = needles.filter((needle) => NEEDLE_CHARS.test(needle));
    this.others = needles.filter((needle) => !NEEDLE_CHARS.test(needle));
    this.prefixLength = Math.min(16, ...indexed.map((needle) => needle.length));
    for (const needle of indexed) {
      const prefix = needle.slice(0, this.prefixLength);
      const list = this.byPrefix.get(prefix);
      if (list) list.push(needle);
      else this.byPrefix.set(prefix, [needle]);
    }
    this.runs = new RegExp(`[A-Za-z0-9+/=%]{${Number.isFinite(this.prefixLength) ? this.prefixLength : 1},}`, 'g');
  }

  find(text: string): Set<string> {
    const present = new Set<string>();
    if (this.byPrefix.size > 0) {
      for (const run of text.matchAll(this.runs)) {
        const start = run.index;
        const last = start + run[0].length - this.prefixLength;
        for (let at = start; at <= last; at += 1) {
          const candidates = this.byPrefix.get(text.slice(at, at + this.prefixLength));
          if (candidates) for (const needle of candidates) if (text.startsWith(needle, at)) present.add(needle);
        }
      }
    }
    for (const needle of this.others) if (text.includes(needle)) present.add(needle);
    return present;
  }
}
