export type DurableDriverErrorCode = 'BadRequest' | 'NotFound' | 'Conflict' | 'Gone' | 'PreconditionFailed' | 'NotImplemented' | 'Closed';

/** A refused driver operation; `code` says which HTTP status the host would answer with. */
export class DurableDriverError extends Error {
  override name = 'DurableDriverError';
  constructor(
    readonly code: DurableDriverErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function httpStatusFor(code: DurableDriverErrorCode): number {
  switch (code) {
    case 'BadRequest':
      return 400;
    case 'NotFound':
      return 404;
    case 'Conflict':
      return 409;
    case 'Gone':
      return 410;
    case 'PreconditionFailed':
      return 412;
    case 'NotImplemented':
      return 501;
    case 'Closed':
      return 503;
  }
}
