/**
 * Route templates as the Functions host reads them (ASP.NET style): literal segments
 * match case-insensitively, `{name}` captures a segment, `{name?}` may be absent,
 * `{name:constraint}` captures (the driver checks only `int`, `bool` and `guid`),
 * `{*name}` captures the rest of the path.
 */

interface Segment {
  literal?: string;
  parameter?: string;
  optional?: boolean;
  catchAll?: boolean;
  constraint?: string;
}

function parseTemplate(template: string): Segment[] {
  return template
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .filter((part) => part !== '')
    .map((part) => {
      const match = /^\{(\*)?([^}:?=]+)(?::([^}?=]+))?(\?)?(?:=[^}]*)?\}$/.exec(part);
      if (!match) return { literal: part.toLowerCase() };
      const segment: Segment = { parameter: match[2] as string };
      if (match[1]) segment.catchAll = true;
      if (match[3]) segment.constraint = match[3].toLowerCase();
      if (match[4] || part.includes('=')) segment.optional = true;
      return segment;
    });
}

function satisfies(constraint: string | undefined, value: string): boolean {
  switch (constraint) {
    case undefined:
      return true;
    case 'int':
    case 'long':
      return /^-?\d+$/.test(value);
    case 'bool':
      return /^(true|false)$/i.test(value);
    case 'guid':
      return /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(value);
    default:
      return true;
  }
}

/** Route parameters when `path` (below the route prefix) matches `template`, else undefined. */
export function matchRoute(template: string, path: string): Record<string, string> | undefined {
  const segments = parseTemplate(template);
  const parts = path
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .filter((part) => part !== '')
    .map((part) => decodeURIComponent(part));
  const params: Record<string, string> = {};
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index] as Segment;
    const part = parts[index];
    if (segment.catchAll) {
      if (part !== undefined && segment.parameter) params[segment.parameter] = parts.slice(index).join('/');
      return params;
    }
    if (part === undefined) {
      if (segment.optional) continue;
      return undefined;
    }
    if (segment.literal !== undefined) {
      if (segment.literal !== part.toLowerCase()) return undefined;
    } else if (segment.parameter) {
      if (!satisfies(segment.constraint, part)) return undefined;
      params[segment.parameter] = part;
    }
  }
  return parts.length <= segments.length ? params : undefined;
}
