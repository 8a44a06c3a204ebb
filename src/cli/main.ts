/**
 * `cosmos-key-rotation`: the operator API from a terminal. Every command is
 * one HTTP call to the function app (base URL and function key from flags or
 * the environment); it prints a human table, or the API's JSON with --json,
 * and exits non-zero with the API's own message when the API refuses.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { renderHistory, renderKeys, renderList, renderPlan, renderStatus, renderAccepted } from './render.js';

export const EXIT = { ok: 0, apiError: 1, usage: 2, unreachable: 3 } as const;

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  fetch?: typeof fetch;
}

type Options = NonNullable<ParseArgsConfig['options']>;

interface Command {
  usage: string;
  summary: string;
  options: Options;
  /** Positional arguments, by name. */
  args: string[];
  request(args: string[], values: Record<string, string | boolean | undefined>): { method: 'GET' | 'POST'; path: string; body?: Record<string, unknown> };
  render(body: unknown, args: string[]): string;
}

const account = (args: string[]) => encodeURIComponent(args[0]!);

const COMMANDS: Record<string, Command> = {
  list: {
    usage: 'list',
    summary: 'Every configured account: state, phase, active key, last rotation, due',
    options: {},
    args: [],
    request: () => ({ method: 'GET', path: '/rotations' }),
    render: (body) => renderList(body),
  },
  status: {
    usage: 'status <account>',
    summary: "The account's current or last rotation",
    options: {},
    args: ['account'],
    request: (args) => ({ method: 'GET', path: `/rotations/${account(args)}` }),
    render: (body) => renderStatus(body),
  },
  plan: {
    usage: 'plan <account>',
    summary: 'Dry run: what a rotation started now would do (changes nothing)',
    options: {},
    args: ['account'],
    request: (args) => ({ method: 'GET', path: `/rotations/${account(args)}/plan` }),
    render: (body) => renderPlan(body),
  },
  start: {
    usage: 'start <account> [--reason <text>] [--force]',
    summary: 'Start a rotation (--force skips the usage waits and the rotation windows: only when certain)',
    options: { reason: { type: 'string' }, force: { type: 'boolean' } },
    args: ['account'],
    request: (args, values) => ({
      method: 'POST',
      path: '/rotations',
      body: { account: args[0], ...(values.reason !== undefined ? { reason: values.reason } : {}), ...(values.force ? { force: true } : {}) },
    }),
    render: (body) => renderAccepted(body, 'Started'),
  },
  confirm: {
    usage: 'confirm <account> [--by <name>] [--note <text>]',
    summary: 'Confirm consumers moved to the new key (consumers-moved)',
    options: { by: { type: 'string' }, note: { type: 'string' } },
    args: ['account'],
    request: (args, values) => ({
      method: 'POST',
      path: `/rotations/${account(args)}/consumers-moved`,
      body: { ...(values.by !== undefined ? { by: values.by } : {}), ...(values.note !== undefined ? { note: values.note } : {}) },
    }),
    render: (body) => renderAccepted(body, 'Confirmed'),
  },
  cancel: {
    usage: 'cancel <account> --reason <text>',
    summary: 'Cancel the running rotation; the keys stay as they are',
    options: { reason: { type: 'string' } },
    args: ['account'],
    request: (args, values) => {
      if (typeof values.reason !== 'string') throw new UsageError('cancel needs --reason <text>: it is kept with the rotation.');
      return { method: 'POST', path: `/rotations/${account(args)}/cancel`, body: { reason: values.reason } };
    },
    render: (body) => renderAccepted(body, 'Cancelling'),
  },
  history: {
    usage: 'history <account> [--top <n>] [--skip <n>]',
    summary: "The account's rotations, newest first",
    options: { top: { type: 'string' }, skip: { type: 'string' } },
    args: ['account'],
    request: (args, values) => {
      const query = new URLSearchParams();
      if (typeof values.top === 'string') query.set('top', values.top);
      if (typeof values.skip === 'string') query.set('skip', values.skip);
      const text = query.toString();
      return { method: 'GET', path: `/rotations/${account(args)}/history${text ? `?${text}` : ''}` };
    },
    render: (body) => renderHistory(body),
  },
  keys: {
    usage: 'keys',
    summary: 'Key-hygiene report: key ages, last use, secret age, overdue, ready to disable local auth',
    options: {},
    args: [],
    request: () => ({ method: 'GET', path: '/keys' }),
    render: (body) => renderKeys(body),
  },
};

const COMMON_OPTIONS: Options = {
  url: { type: 'string' },
  key: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const CONNECTION_HELP = [
  'Options for every command:',
  '  --url <url>   the function app, e.g. https://func-x.azurewebsites.net (or COSMOS_ROTATION_URL); /api is added when missing',
  '  --key <key>   a function key (or COSMOS_ROTATION_KEY), sent as x-functions-key',
  '  --token <jwt> with OPERATOR_API_AUTH=entra-id: an Entra ID access token (or COSMOS_ROTATION_TOKEN), e.g. from',
  '                az account get-access-token --resource api://<client ID> --query accessToken -o tsv',
  '  --json        print the API answer as JSON',
  '  -h, --help    this help, or a command\'s',
].join('\n');

class UsageError extends Error {}

export function mainHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    'Usage: cosmos-key-rotation <command> [options]',
    '',
    'Commands:',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    CONNECTION_HELP,
    '',
    'Exit codes: 0 done, 1 the API refused (its message is printed), 2 wrong usage, 3 the API could not be reached.',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return [`Usage: cosmos-key-rotation ${command.usage}`, '', `${command.summary}.`, '', CONNECTION_HELP].join('\n');
}

/** Runs one command; resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const command = name === 'help' && rest[0] ? COMMANDS[rest[0]] : undefined;
    io.stdout(`${command ? commandHelp(command) : mainHelp()}\n`);
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr(`error: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see --help)\n`);
    return EXIT.usage;
  }
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  let request: ReturnType<Command['request']>;
  let base: string;
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true }) as {
      values: Record<string, string | boolean | undefined>;
      positionals: string[];
    });
    if (values.help) {
      io.stdout(`${commandHelp(command)}\n`);
      return EXIT.ok;
    }
    if (positionals.length !== command.args.length) {
      throw new UsageError(command.args.length ? `${name} needs <${command.args.join('> <')}>` : `${name} takes no arguments, got "${positionals.join(' ')}"`);
    }
    base = baseUrlOf(typeof values.url === 'string' ? values.url : io.env.COSMOS_ROTATION_URL);
    request = command.request(positionals, values);
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}\nUsage: cosmos-key-rotation ${command.usage} (see --help)\n`);
    return EXIT.usage;
  }
  const key = typeof values.key === 'string' ? values.key : io.env.COSMOS_ROTATION_KEY;
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (key) headers['x-functions-key'] = key;
  const token = typeof values.token === 'string' ? values.token : io.env.COSMOS_ROTATION_TOKEN;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (request.body) headers['Content-Type'] = 'application/json';

  let response: Response;
  try {
    response = await (io.fetch ?? fetch)(`${base}${request.path}`, { method: request.method, headers, ...(request.body ? { body: JSON.stringify(request.body) } : {}) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    io.stderr(`error: cannot reach ${base} (${cause?.code ?? cause?.message ?? (error as Error).message})\n`);
    return EXIT.unreachable;
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const apiError = (body as { error?: { code?: string; message?: string } } | null)?.error;
    const reason = apiError?.message
      ? `${apiError.code ? `${apiError.code}: ` : ''}${apiError.message}`
      : response.status === 401
        ? 'HTTP 401: the function key or token is missing or wrong (--key or COSMOS_ROTATION_KEY; --token or COSMOS_ROTATION_TOKEN)'
        : `HTTP ${response.status} ${response.statusText}`;
    io.stderr(`error: ${reason}\n`);
    if (values.json && body) io.stdout(`${JSON.stringify(body, null, 2)}\n`);
    return EXIT.apiError;
  }
  io.stdout(values.json ? `${JSON.stringify(body, null, 2)}\n` : `${command.render(body, positionals)}\n`);
  return EXIT.ok;
}

function baseUrlOf(raw: string | undefined): string {
  if (!raw) throw new UsageError('name the function app with --url <url> or COSMOS_ROTATION_URL');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url "${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new UsageError(`--url "${raw}" must be https (the function key travels with every request); plain http only on loopback`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path.endsWith('/api') ? path : `${path}/api`}`;
}
