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
  'METHOD_NOT_ALLOWED',
  'URI_TOO_LONG',
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
  METHOD_NOT_ALLOWED: 405,
  URI_TOO_LONG: 414,
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

/**
 * The facts each failure of a kernel carries (its `details`), by code. A kernel on any backend reports a
 * failure as a code and these facts only (the native addon sends them as its napi status and a JSON
 * message); `kernelError` turns them into the one text a user reads, so the same failure reads the same on
 * native, wasm and js.
 */
export interface KernelFacts {
  NOT_POSITIVE_DEFINITE: { pivot: number };
  SHAPE_MISMATCH: { argument: string; length: number; needed: number };
  /** An output sharing memory with another argument, or a value outside [min, max] (in a CSR row). */
  INVALID_ARGUMENT: { argument: string; overlaps: string } | { argument: string; value: number; min: number; max: number; row?: number };
  /** An instruction-set level this CPU cannot run. */
  BACKEND_UNAVAILABLE: { requested: string; best: string };
  /** A panic caught at the native boundary. */
  INTERNAL: { panic: string };
}

export type KernelErrorCode = keyof KernelFacts;

/** One message per kernel error code, built from the failure's facts. */
const KERNEL_MESSAGES: { [C in KernelErrorCode]: (f: KernelFacts[C]) => string } = {
  NOT_POSITIVE_DEFINITE: (f) =>
    `the Gram matrix is not positive definite at pivot ${f.pivot}; add an L2 penalty or remove constant or duplicate columns`,
  SHAPE_MISMATCH: (f) => `${f.argument} has ${f.length} elements but the shape needs ${f.needed}`,
  INVALID_ARGUMENT: (f) =>
    'overlaps' in f
      ? `${f.argument} shares memory with ${f.overlaps}; an output must not overlap another argument`
      : `${f.argument} is ${f.value}${f.row === undefined ? '' : ` in row ${f.row}`}, outside [${f.min}, ${f.max}]`,
  BACKEND_UNAVAILABLE: (f) => `the ${f.requested} instruction set cannot run on this CPU (its best is ${f.best})`,
  INTERNAL: (f) => `a native kernel panicked (a bug in Quiver; please report it): ${f.panic}`,
};

export function isKernelErrorCode(x: unknown): x is KernelErrorCode {
  return typeof x === 'string' && Object.hasOwn(KERNEL_MESSAGES, x);
}

/** The QuiverError of a kernel failure: its code, the one message for it, and the facts as `details`. */
export function kernelError<C extends KernelErrorCode>(code: C, facts: KernelFacts[C]): QuiverError {
  return new QuiverError(code, KERNEL_MESSAGES[code](facts), { ...facts });
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
