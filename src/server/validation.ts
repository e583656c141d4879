/**
 * Request validation: JSON bodies are checked as sent (no type coercion, no field dropped), so `null`, `"1"`
 * or a misspelt option is refused instead of being turned into 0, 1 or nothing. Query strings and path
 * parameters arrive as text, so only they are coerced (`?k=3` is the integer 3), and an unknown query
 * parameter is refused too. Ajv's errors are rewritten into one message naming the field as the caller wrote it.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { QuiverError } from '../errors.js';
import { PREVALIDATED } from './json-body.js';

const common: Options = { allErrors: false, useDefaults: true, removeAdditional: false, strict: false, verbose: true };

/** One Ajv per coercion policy; both know the shared schemas registered with `addSchema`. */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = new Ajv({ ...common, coerceTypes: false });
  const text = new Ajv({ ...common, coerceTypes: 'array' });
  return ({ schema, httpPart }) => {
    // A binary body (.npy, Arrow) is documented as bytes; the route parses and checks it.
    if ((schema as { format?: unknown }).format === 'binary') return (data: unknown) => ({ value: data });
    const validate: ValidateFunction = (httpPart === 'body' ? strict : text).compile(schema as object);
    if (httpPart === 'body') {
      return (data: unknown) => {
        if (typeof data === 'object' && data !== null && PREVALIDATED in data) return { value: data };
        return validate(data) ? { value: data } : { error: Object.assign(new Error('invalid request'), { validation: validate.errors ?? [] }) };
      };
    }
    return (data: unknown) => (validate(data) ? { value: data } : { error: Object.assign(new Error('invalid request'), { validation: validate.errors ?? [] }) });
  };
}

/** `/rows/0/1` → `rows[0][1]`; `/interactions/users` → `interactions.users`. */
export function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function shown(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return `must be ${String(p['type']).replace('integer', 'an integer').replace('number', 'a number').replace('string', 'a string').replace('boolean', 'true or false').replace('array', 'an array').replace('object', 'an object')} (got ${shown(e.data)})`;
    case 'const':
      return `must be ${JSON.stringify(p['allowedValue'])}`;
    case 'enum':
      return `must be one of ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${e.message ?? 'is out of range'} (got ${shown(e.data)})`;
    default:
      return e.message ?? 'is invalid';
  }
}

const PART: Record<string, string> = { body: 'field', querystring: 'query parameter', params: 'path parameter', headers: 'header' };

/** One INVALID_ARGUMENT naming the field (and its place: body field, query or path parameter). */
export function validationError(errors: ErrorObject[], context: string | undefined): QuiverError {
  const part = PART[context ?? 'body'] ?? 'field';
  // Ajv reports an anyOf's branches first and the anyOf itself last: name the union once, with its choices.
  const last = errors[errors.length - 1];
  let field: string;
  let what: string;
  if (last && (last.keyword === 'anyOf' || last.keyword === 'oneOf')) {
    field = fieldPath(last.instancePath);
    const alts = errors.slice(0, -1).filter((e) => e.instancePath === last.instancePath);
    if (alts.length > 0 && alts.every((e) => e.keyword === 'required')) {
      // A "give exactly one of" rule (oneOf of required fields): none or several of them were given.
      const names = alts.map((e) => String((e.params as { missingProperty: unknown }).missingProperty));
      return new QuiverError('INVALID_ARGUMENT', `give exactly one of ${names.join(', ').replace(/, ([^,]*)$/, ' or $1')}${field ? ` in ${field}` : ''}`, { fields: names, in: context ?? 'body' });
    }
    if (last.keyword === 'oneOf' && (last.params as { passingSchemas?: unknown }).passingSchemas) {
      const names = ((last.parentSchema as { oneOf?: { required?: string[] }[] } | undefined)?.oneOf ?? []).flatMap((o) => o.required ?? []);
      return new QuiverError('INVALID_ARGUMENT', `give exactly one of ${names.join(', ').replace(/, ([^,]*)$/, ' or $1')}, not several`, { fields: names, in: context ?? 'body' });
    }
    const branches = errors.slice(0, -1).filter((e) => e.instancePath === last.instancePath);
    const choices = [...new Set(branches.map(describe).map((s) => s.replace(/ \(got .*\)$/, '')))];
    what = choices.length > 0 ? `${choices.join(', or ')} (got ${shown(last.data)})` : (last.message ?? 'is invalid');
  } else {
    const e = errors[0];
    if (!e) return new QuiverError('INVALID_ARGUMENT', 'invalid request');
    const p = e.params as Record<string, unknown>;
    if (e.keyword === 'additionalProperties') {
      field = fieldPath(e.instancePath, String(p['additionalProperty']));
      const parent = e.instancePath === '' ? '' : ` in ${fieldPath(e.instancePath)}`;
      return new QuiverError('INVALID_ARGUMENT', `unknown ${part} "${field}"${parent}; see /docs for the accepted ${part}s`, { field, in: context ?? 'body' });
    }
    if (e.keyword === 'required') {
      field = fieldPath(e.instancePath, String(p['missingProperty']));
      return new QuiverError('INVALID_ARGUMENT', `missing ${part} "${field}"`, { field, in: context ?? 'body' });
    }
    field = fieldPath(e.instancePath);
    what = describe(e);
  }
  if (field === '') return new QuiverError('INVALID_ARGUMENT', `the ${context === 'querystring' ? 'query string' : 'body'} ${what}`, { in: context ?? 'body' });
  return new QuiverError('INVALID_ARGUMENT', `${part} "${field}" ${what}`, { field, in: context ?? 'body' });
}
