/**
 * Large JSON bodies are parsed off the event loop. A body over OFFLOAD_BYTES goes to a pool worker that parses
 * it, validates it against the route's body schema (the same strict Ajv options as the main thread), and packs
 * every matrix field (a schema marked `x-matrix`) into a Float32Array. The event loop then holds a few typed
 * arrays instead of hundreds of thousands of small JS numbers: no parse, no validation walk, no garbage to
 * collect, and /health stays fast while large bodies arrive.
 * This module is also the worker's handler module (`handlers`); it imports nothing that loads Fastify.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { matrixFromRows } from '../data/matrix.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';

/** Bodies from this size up are parsed in the pool (a 256 KB parse takes about 2 ms here; a round trip 0.2). */
export const OFFLOAD_BYTES = 256 * 1024;

/** Set on a body that a worker has validated already: the main thread's validator passes it through. */
export const PREVALIDATED = Symbol('quiver.prevalidated');

export interface ParseTask {
  bytes: Uint8Array;
  /** The route's body schema (JSON), and a key to cache its compiled validator under. */
  schema: object;
  key: string;
}

export type ParseResult = { value: Record<string, unknown>; packed: string[] } | { validation: ErrorObject[] };

interface SchemaNode {
  'x-matrix'?: boolean;
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
}

function isMatrixSchema(s: SchemaNode | undefined): boolean {
  return s !== undefined && (s['x-matrix'] === true || (s.anyOf ?? []).some((b) => b['x-matrix'] === true));
}

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

function parseTask(_backend: unknown, task: ParseTask): ParseResult {
  const text = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new QuiverError('INVALID_ARGUMENT', `the body is not valid JSON: ${(err as Error).message}`);
  }
  ajv ??= new Ajv({ allErrors: false, useDefaults: true, removeAdditional: false, strict: false, verbose: true, coerceTypes: false });
  let validate = compiled.get(task.key);
  if (!validate) {
    validate = ajv.compile(task.schema);
    compiled.set(task.key, validate);
  }
  // verbose errors carry the schema and data: keep only what the message needs, so the reply stays small.
  if (!validate(value)) {
    return { validation: (validate.errors ?? []).map((e) => ({ ...e, schema: undefined, parentSchema: e.keyword === 'oneOf' ? e.parentSchema : undefined, data: typeof e.data === 'object' && e.data !== null ? (Array.isArray(e.data) ? [] : {}) : e.data })) };
  }
  const body = value as Record<string, unknown>;
  const props = (task.schema as SchemaNode).properties ?? {};
  const packed: string[] = [];
  for (const [name, s] of Object.entries(props)) {
    if (Array.isArray(body[name]) && isMatrixSchema(s)) {
      body[name] = matrixFromRows(body[name] as number[][], name);
      packed.push(name);
    }
  }
  return { value: body, packed };
}

export const handlers = { parseJsonBody: parseTask };

export function isMatrix(x: unknown): x is Matrix {
  return typeof x === 'object' && x !== null && (x as Matrix).data instanceof Float32Array && Number.isInteger((x as Matrix).rows) && Number.isInteger((x as Matrix).cols);
}
