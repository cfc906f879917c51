import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { jsonPointer, type FieldError, type RequestPart } from './errors.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    // Unknown fields are refused, never silently dropped.
    removeAdditional: false,
    useDefaults: true,
    strict: false,
    // Errors carry their schema and data: a failed union is explained from its branches.
    verbose: true,
    ...options,
  });
  addFormats(ajv);
  return ajv;
}

// Bodies are taken as sent: "5" is not a number. Query strings, params and headers are text
// by nature, so those are coerced to the declared types.
const bodyAjv = makeAjv({ coerceTypes: false });
const textAjv = makeAjv({ coerceTypes: 'array' });

/** Fastify's validator compiler: a strict Ajv for bodies, a coercing one for everything else. */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

/** Fastify's names for the parts it validates, as field errors name them. */
const PARTS: Record<string, RequestPart> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

type Schema = Record<string, unknown>;
type ValidationError = FastifySchemaValidationError & { schema?: unknown; parentSchema?: Schema; data?: unknown };

/** "a, b or c". */
const either = (items: readonly string[]) => (items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`);

/** A value's JSON type, as a schema's `type` names it. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function acceptsType(schema: Schema, type: string): boolean {
  const union = (schema['anyOf'] ?? schema['oneOf']) as Schema[] | undefined;
  if (Array.isArray(union)) return union.some((branch) => acceptsType(branch, type));
  const declared = schema['type'] ?? (schema['const'] !== undefined ? jsonType(schema['const']) : undefined);
  if (declared === undefined) return true;
  const types = Array.isArray(declared) ? declared : [declared];
  return types.includes(type) || (type === 'integer' && types.includes('number'));
}

/** What a schema allows, in words: `7d, 30d or { days: 1–730 }`. */
export function describeSchema(schema: Schema): string {
  return either(alternatives(schema));
}

/** The values or shapes a schema allows, nested unions flattened. */
function alternatives(schema: Schema): string[] {
  const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  if (schema['const'] !== undefined) return [text(schema['const'])];
  if (Array.isArray(schema['enum'])) return schema['enum'].map(text);
  const union = (schema['anyOf'] ?? schema['oneOf']) as Schema[] | undefined;
  if (Array.isArray(union)) return union.flatMap(alternatives);
  return [describeShape(schema)];
}

function describeShape(schema: Schema): string {
  const min = schema['minimum'] as number | undefined;
  const max = schema['maximum'] as number | undefined;
  // A bounded number is its range (`{ days: 1–730 }`): the surrounding braces say it is a field.
  switch (schema['type']) {
    case 'object': {
      const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
      const required = new Set((schema['required'] ?? []) as string[]);
      const fields = Object.entries(properties).map(([name, field]) => `${name}${required.has(name) ? '' : '?'}: ${describeSchema(field)}`);
      return fields.length === 0 ? 'an object' : `{ ${fields.join(', ')} }`;
    }
    case 'array':
      return `a list of ${describeSchema((schema['items'] ?? {}) as Schema).replace(/^an? /, '')}s`;
    case 'integer':
    case 'number':
      if (min !== undefined && max !== undefined) return `${min}–${max}`;
      return `${schema['type'] === 'integer' ? 'a whole number' : 'a number'}${min !== undefined ? ` ≥ ${min}` : max !== undefined ? ` ≤ ${max}` : ''}`;
    case 'string':
      return typeof schema['format'] === 'string' ? `a ${schema['format']}` : 'a string';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    default:
      return 'a value';
  }
}

const ARTICLE_TYPE: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'null',
};

/**
 * A number bounded on both sides, as a sentence says it (`a whole number from 1 to 730`), so a
 * value out of range is told the whole range whichever end it missed; undefined otherwise.
 */
function range(schema: Schema): string | undefined {
  const min = schema['minimum'];
  const max = schema['maximum'];
  if (typeof min !== 'number' || typeof max !== 'number') return undefined;
  return `${schema['type'] === 'integer' ? 'a whole number' : 'a number'} from ${min} to ${max}`;
}

/** One error's sentence (after the field's name), saying what is allowed. */
function sentence(error: ValidationError): string {
  const params = error.params as Record<string, unknown>;
  const parent = error.parentSchema ?? {};
  switch (error.keyword) {
    case 'type': {
      // A bounded number says its range: "5" for days is told "a whole number from 1 to 730".
      const bounded = parent['type'] === params['type'] ? range(parent) : undefined;
      if (bounded !== undefined) return `must be ${bounded}`;
      return `must be ${either(
        String(params['type'])
          .split(',')
          .map((type) => ARTICLE_TYPE[type] ?? type),
      )}`;
    }
    case 'const':
      return `must be ${describeSchema({ const: params['allowedValue'] })}`;
    case 'enum':
      return `must be ${describeSchema({ enum: params['allowedValues'] })}`;
    case 'minimum':
    case 'maximum':
      return `must be ${range(parent) ?? `${error.keyword === 'minimum' ? 'at least' : 'at most'} ${params['limit']}`}`;
    case 'minLength':
      return `must be at least ${params['limit']} character${params['limit'] === 1 ? '' : 's'} long`;
    case 'maxLength':
      return `must be at most ${params['limit']} characters long`;
    case 'minItems':
      return `must have at least ${params['limit']} item${params['limit'] === 1 ? '' : 's'}`;
    case 'maxItems':
      return `must have at most ${params['limit']} items`;
    case 'format':
      return `must be a ${params['format']}`;
    default:
      return error.message ?? 'is not valid';
  }
}

/** A schema that lists its values (a constant, an enum, or a union of those). */
function isClosedSet(schema: Schema): boolean {
  const union = (schema['anyOf'] ?? schema['oneOf']) as Schema[] | undefined;
  if (Array.isArray(union)) return union.every(isClosedSet);
  return schema['const'] !== undefined || Array.isArray(schema['enum']);
}

const isUnion = (error: ValidationError) => error.keyword === 'anyOf' || error.keyword === 'oneOf';

/**
 * Ajv answers a failed union (`anyOf`) with one error per branch and one for the union: eight
 * for an unknown expiration preset. When the value's type, or a discriminating constant (a
 * grant's `role`), selects one branch, that branch's errors stand alone (so a Cloud Account
 * Viewer grant without accounts is pointed at its `accounts`); otherwise the union becomes one
 * error saying everything it allows.
 */
function explainUnions(errors: readonly ValidationError[]): ValidationError[] {
  let list = [...errors];
  for (;;) {
    const unions = list.filter(isUnion);
    const outer = unions.find((u) => !unions.some((v) => v !== u && u.schemaPath.startsWith(`${v.schemaPath}/`)));
    if (outer === undefined) return list;
    const inBranch = (e: ValidationError, branch = '') => e.schemaPath.startsWith(`${outer.schemaPath}/${branch}`) && e.instancePath.startsWith(outer.instancePath);
    const rest = list.filter((e) => e !== outer && !inBranch(e));
    const branches = (outer.parentSchema?.[outer.keyword] ?? []) as Schema[];
    const chosen = chooseBranch(branches, outer.data);
    // A branch of plain values is not pointed into: the whole union says what is allowed.
    if (typeof chosen === 'number' && !isClosedSet(branches[chosen]!)) {
      list = [...rest, ...list.filter((e) => e !== outer && inBranch(e, `${chosen}/`))];
      continue;
    }
    const explained: ValidationError =
      typeof chosen !== 'object'
        ? { ...outer, keyword: 'union', message: `must be ${describeSchema({ anyOf: branches })}` }
        : {
            ...outer,
            keyword: 'union',
            instancePath: `${outer.instancePath}${jsonPointer(chosen.property)}`,
            message: `must be ${either(chosen.allowed)}`,
          };
    list = [...rest, explained];
  }
}

/**
 * The branch of a union `data` was meant for: the only one of its type, or the only one whose
 * constant property matches. A discriminating property that matches none is returned with the
 * values it may take.
 */
function chooseBranch(branches: readonly Schema[], data: unknown): number | { property: string; allowed: string[] } | undefined {
  const candidates = branches.map((branch, index) => ({ branch, index })).filter(({ branch }) => acceptsType(branch, jsonType(data)));
  if (candidates.length === 1) return candidates[0]!.index;
  if (candidates.length === 0 || jsonType(data) !== 'object') return undefined;
  const constantOf = (branch: Schema, property: string) => ((branch['properties'] ?? {}) as Record<string, Schema>)[property]?.['const'];
  const first = (candidates[0]!.branch['properties'] ?? {}) as Record<string, Schema>;
  for (const property of Object.keys(first)) {
    if (!candidates.every(({ branch }) => typeof constantOf(branch, property) === 'string')) continue;
    const sent = (data as Record<string, unknown>)[property];
    const matching = candidates.filter(({ branch }) => constantOf(branch, property) === sent);
    if (matching.length === 1) return matching[0]!.index;
    if (sent !== undefined) return { property, allowed: candidates.map(({ branch }) => String(constantOf(branch, property))) };
  }
  return undefined;
}

/**
 * Turns Ajv's errors into field errors, one sentence per field saying what is allowed. Ajv's
 * `instancePath` is already a JSON Pointer into the validated part; a missing or unknown
 * property is pointed at, escaped, below it.
 */
export function fieldErrors(context: string, errors: readonly FastifySchemaValidationError[]): FieldError[] {
  const part = PARTS[context];
  if (part === undefined) throw new TypeError(`unknown validation context: ${context}`);
  const seen = new Set<string>();
  return explainUnions(errors as readonly ValidationError[]).flatMap((error): FieldError[] => {
    const params = error.params as Record<string, unknown>;
    let field: FieldError;
    switch (error.keyword) {
      case 'additionalProperties':
        field = {
          in: part,
          pointer: error.instancePath + jsonPointer(String(params['additionalProperty'])),
          message: 'is not an accepted field here (unknown, or cannot be changed)',
        };
        break;
      case 'required': {
        const missing = String(params['missingProperty']);
        const schema = ((error.parentSchema?.['properties'] ?? {}) as Record<string, Schema>)[missing];
        // A field with a closed set of values, or a choice of shapes, says them ("is required: all or a list of strings").
        const closed = schema !== undefined && ['const', 'enum', 'anyOf', 'oneOf'].some((keyword) => schema[keyword] !== undefined);
        field = { in: part, pointer: error.instancePath + jsonPointer(missing), message: closed ? `is required: ${describeSchema(schema)}` : 'is required' };
        break;
      }
      case 'union':
        field = { in: part, pointer: error.instancePath, message: error.message ?? 'is not valid' };
        break;
      default:
        field = { in: part, pointer: error.instancePath, message: sentence(error) };
    }
    // One sentence per field.
    const key = `${field.in} ${field.pointer}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return [field];
  });
}
