/**
 * A key or connection string in memory. It exists only between the adapter
 * that read it and the adapter call that uses it (a probe, a publish); every
 * way of printing it (JSON, string conversion, util.inspect, console.log)
 * shows a placeholder, so a stray log line or an activity result cannot leak it.
 */
import { inspect } from 'node:util';

const PLACEHOLDER = '[redacted secret]';

export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    if (typeof value !== 'string' || value === '') throw new TypeError('a secret value must be a non-empty string');
    this.#value = value;
  }

  /** The value itself: pass it straight to an SDK call, never to a log, an error or a result. */
  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return PLACEHOLDER;
  }

  toString(): string {
    return PLACEHOLDER;
  }

  [inspect.custom](): string {
    return `SecretValue(${PLACEHOLDER})`;
  }
}
