/** Shared TypeBox schemas: matrices as arrays of rows, errors, and the binary media types. */
import { Type } from 'typebox';

export const Rows = Type.Array(Type.Array(Type.Number()), {
  minItems: 1,
  description: 'a matrix as an array of rows of numbers (all rows the same length)',
});

export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'one of the error codes: INVALID_ARGUMENT, SHAPE_MISMATCH, NON_FINITE, TOO_LARGE, ...' }),
    message: Type.String({ description: 'what went wrong and what to fix' }),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: 'Error' },
);

export const Metric = Type.Union([Type.Literal('cosine'), Type.Literal('dot')], { default: 'cosine' });

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  404: ErrorBody,
  413: ErrorBody,
  415: ErrorBody,
  422: ErrorBody,
  503: ErrorBody,
};

export const binaryNote =
  'Large inputs may be sent as application/x-npy (one float32/float64 C-order matrix) or application/vnd.apache.arrow.stream ' +
  '(a table of numeric columns), with options in the query string; answers follow the Accept header (JSON by default).';
