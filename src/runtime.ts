/**
 * What activities run with: the validated Config and the adapters, built
 * lazily from the environment on first use and then reused (SDK clients keep
 * connections and tokens warm). A bad setting surfaces as a ConfigError from
 * getRuntime(), which activities report as a config failure.
 */
import { createAdapters, type Adapters, type CreateAdaptersOptions } from './azure/index.js';
import { loadConfig, type Config } from './config.js';
import { createTargetSource, type TargetSource } from './target-source.js';

export interface Runtime {
  config: Config;
  adapters: Adapters;
  /** The accounts to rotate: every reader gets the list from here (ROTATION_TARGETS or the targets blob). */
  targets: TargetSource;
  /** The current time for activities (results, expiry, usage judgements). */
  now(): Date;
}

export interface RuntimeOptions extends CreateAdaptersOptions {
  /** Settings to read instead of process.env. */
  env?: NodeJS.ProcessEnv;
}

let options: RuntimeOptions = {};
let runtime: Runtime | undefined;

export function getRuntime(): Runtime {
  if (!runtime) {
    const config = loadConfig(options.env ?? process.env);
    const now = options.now ?? (() => new Date());
    const adapters = createAdapters(config, { ...options, now });
    runtime = { config, adapters, targets: createTargetSource(config, adapters.targetBlob), now };
  }
  return runtime;
}

/**
 * Forgets the built runtime; the next getRuntime() reads the settings again.
 * Tests pass the emulator's clock (`now`; `sleep` and `hold` for the ARM budget's waits) or their own env here.
 */
export function resetRuntime(next: RuntimeOptions = {}): void {
  options = next;
  runtime = undefined;
}
