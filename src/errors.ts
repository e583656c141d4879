/**
 * The one error class of Quiver. Every failure that a caller can act on carries a `code` from
 * `ErrorCode`, a message that says what to fix, and optional structured `details`.
 * Workers cannot send class instances through structured clone, so they send `toJSON()` and the
 * pool rebuilds the error with `QuiverError.fromJSON`.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'SHAPE_MISMATCH',
  'NON_FINITE',
  'TOO_LARGE',
  'NOT_POSITIVE_DEFINITE',
  'BACKEND_UNAVAILABLE',
  'OVERLOADED',
  'NOT_FOUND',
  'ABORTED',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNAUTHORIZED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status for each code: the only place where this mapping lives. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  SHAPE_MISMATCH: 400,
  NON_FINITE: 400,
  TOO_LARGE: 413,
  NOT_POSITIVE_DEFINITE: 422,
  BACKEND_UNAVAILABLE: 503,
  OVERLOADED: 503,
  NOT_FOUND: 404,
  ABORTED: 503,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHORIZED: 401,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export type ErrorDetails = Record<string, unknown>;

export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetails;
}

export class QuiverError extends Error {
  override readonly name = 'QuiverError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(message);
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  toJSON(): SerializedError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(e: SerializedError): QuiverError {
    return new QuiverError(isErrorCode(e.code) ? e.code : 'INTERNAL', e.message, e.details);
  }

  /**
   * Native kernels report failures as `"<CODE>: message"` (napi status strings carry text only)
   * with an optional JSON details suffix `" | {...}"`. Anything else becomes INTERNAL.
   */
  static from(err: unknown): QuiverError {
    if (err instanceof QuiverError) return err;
    if (isSerialized(err)) return QuiverError.fromJSON(err);
    const text = err instanceof Error ? err.message : String(err);
    const m = /^([A-Z_]+): (.*?)(?: \| (\{.*\}))?$/s.exec(text);
    if (m && isErrorCode(m[1])) {
      let details: ErrorDetails | undefined;
      if (m[3]) {
        try {
          details = JSON.parse(m[3]) as ErrorDetails;
        } catch {
          details = undefined;
        }
      }
      return new QuiverError(m[1], m[2] ?? '', details);
    }
    return new QuiverError('INTERNAL', text);
  }
}

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && (ERROR_CODES as readonly string[]).includes(x);
}

function isSerialized(x: unknown): x is SerializedError {
  return (
    typeof x === 'object' &&
    x !== null &&
    isErrorCode((x as { code?: unknown }).code) &&
    typeof (x as { message?: unknown }).message === 'string'
  );
}
