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
    for (const { kind, where, text } of this.texts) {
      scanned[kind] += 1;
      const hits = new Set<string>();
      for (const value of this.keys.keys()) if (text.includes(value)) hits.add(value);
      for (const [encoded, value] of this.variants) if (text.includes(encoded)) hits.add(value);
      for (const value of hits) {
        const key = this.keys.get(value)!;
        found.push({ where, account: key.account, keyKind: key.keyKind, current: currentValues.has(value) });
      }
    }
    return { keyValuesChecked: this.keys.size, scanned, found };
  }
}
