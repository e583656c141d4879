/**
 * Shared TypeBox schemas: matrices as arrays of rows, errors, and the binary media types. Schemas that carry a
 * limit are built from the app's limits, so /docs/json states what this server accepts.
 */
import { Type } from 'typebox';
import type { Limits } from '../context.js';


/** Cells of a JSON matrix: the kernels compute in float32, where products of larger values overflow. */
export const CELL_MAX = 1e15;

export const Cell = Type.Number({ minimum: -CELL_MAX, maximum: CELL_MAX, description: 'at most 1e15 in magnitude (float32 kernels)' });

/** A matrix as rows of numbers; every row must have the same length (checked by the route: 400 SHAPE_MISMATCH). */
export function rows(maxRows: number, description = 'a matrix as an array of rows of numbers (all rows the same length)') {
  // x-matrix: a large JSON body's worker packs this field into a Float32Array (json-body.ts).
  return Type.Array(Type.Array(Cell, { minItems: 1 }), { minItems: 1, maxItems: maxRows, description, 'x-matrix': true });
}

/** Rows of a matrix whose answer is all pairs: at most √maxSimilarityCells rows, so a × b stays under the limit. */
export function pairRows(limits: Limits) {
  return rows(Math.min(limits.maxRows, Math.floor(Math.sqrt(limits.maxSimilarityCells))));
}

export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'one of the error codes: INVALID_ARGUMENT, SHAPE_MISMATCH, NON_FINITE, TOO_LARGE, ...' }),
    message: Type.String({ description: 'what went wrong and what to fix' }),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    requestId: Type.String({ description: 'the id of this request (also the x-request-id header): quote it when reporting a problem' }),
  },
  { $id: 'Error' },
);

export const Metric = Type.Union([Type.Literal('cosine'), Type.Literal('dot')], { default: 'cosine' });

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  404: ErrorBody,
  405: ErrorBody,
  413: ErrorBody,
  415: ErrorBody,
  422: ErrorBody,
  500: ErrorBody,
  503: ErrorBody,
};

/** Routes with path parameters can also answer 414 (a parameter longer than the router accepts). */
export const paramErrorResponses = { ...errorResponses, 414: ErrorBody };

export const binaryNote =
  'Large inputs may be sent as application/x-npy (one float32/float64 C-order matrix) or application/vnd.apache.arrow.stream ' +
  '(a table of numeric columns), with options in the query string; answers follow the Accept header (JSON by default).';
