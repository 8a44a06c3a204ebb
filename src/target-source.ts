/**
 * Where every reader of the target list (the schedule, the operator API, the
 * dashboard and CLI through it, the dry run, the history) gets it from: the
 * ROTATION_TARGETS app setting, or the JSON blob ROTATION_TARGETS_BLOB_URL
 * names, for fleets whose list does not fit in one environment string.
 *
 * A blob is read at each use with the ETag of the last read (If-None-Match):
 * unchanged, it costs one GET answered 304, and the list parsed last time is
 * used. A changed blob is validated whole, exactly as ROTATION_TARGETS is;
 * an invalid or unreadable one is never used in part, and nothing older is
 * used in its place: the reader fails with the reason, and the schedule
 * starts nothing until the blob is fixed. Rotations already running go on
 * with the settings they started with.
 */
import { parseTargetList, type Config, type RotationTarget, type TargetDefaults } from './config.js';
import { ConfigError } from './errors.js';
import type { TargetBlobRead } from './azure/target-blob.js';

export interface TargetSource {
  /** Where the list comes from, for logs: "ROTATION_TARGETS" or "ROTATION_TARGETS_BLOB_URL (https://...)". */
  readonly description: string;
  /**
   * The whole list, validated. Throws a ConfigError (the blob is invalid, each problem
   * naming its item) or a classified Azure error (the blob cannot be read); never
   * returns part of a list.
   */
  list(): Promise<RotationTarget[]>;
}

export interface TargetBlobReader {
  read(ifNoneMatch: string | null): Promise<TargetBlobRead>;
}

export const TARGETS_BLOB_SETTING = 'ROTATION_TARGETS_BLOB_URL';

/** The list of ROTATION_TARGETS, validated once with the other settings. */
export function settingTargetSource(targets: readonly RotationTarget[]): TargetSource {
  return { description: 'ROTATION_TARGETS', list: async () => [...targets] };
}

export class BlobTargetSource implements TargetSource {
  readonly description: string;
  readonly #reader: TargetBlobReader;
  readonly #defaults: TargetDefaults;
  readonly #blobUrl: string;
  /** The last blob version read in full: its list, or why it was refused. */
  #last: { etag: string; targets: RotationTarget[] } | { etag: string; error: ConfigError } | null = null;

  constructor(reader: TargetBlobReader, defaults: TargetDefaults, blobUrl: string) {
    this.#reader = reader;
    this.#defaults = defaults;
    this.#blobUrl = blobUrl;
    this.description = `${TARGETS_BLOB_SETTING} (${blobUrl})`;
  }

  async list(): Promise<RotationTarget[]> {
    const last = this.#last;
    const read = await this.#reader.read(last?.etag || null);
    if (!read.changed) {
      if (!last) throw new Error(`the targets blob ${this.#blobUrl} answered "not modified" to a first read`);
      if ('error' in last) throw last.error;
      return [...last.targets];
    }
    const { targets, problems } = parseTargetList(read.text, this.#defaults, TARGETS_BLOB_SETTING);
    if (problems.length) {
      const error = new ConfigError(problems.map((problem) => ({ setting: problem.setting, message: `the blob ${this.#blobUrl}: ${problem.message}` })));
      this.#last = { etag: read.etag, error };
      throw error;
    }
    this.#last = { etag: read.etag, targets };
    return [...targets];
  }
}

/** The target source the settings ask for; `reader` reads the blob (the adapter over @azure/storage-blob). */
export function createTargetSource(config: Config, reader: TargetBlobReader | null): TargetSource {
  if (config.targetsSource.kind === 'setting') return settingTargetSource(config.targetsSource.targets);
  if (!reader) throw new Error('ROTATION_TARGETS_BLOB_URL is set but no blob reader was built');
  return new BlobTargetSource(reader, config, config.targetsSource.blobUrl);
}
