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

/**
 * Turns Ajv's errors into field errors. Ajv's `instancePath` is already a JSON Pointer into
 * the validated part; a missing or unknown property is pointed at, escaped, below it.
 */
export function fieldErrors(context: string, errors: readonly FastifySchemaValidationError[]): FieldError[] {
  const part = PARTS[context];
  if (part === undefined) throw new TypeError(`unknown validation context: ${context}`);
  return errors.map((error) => {
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'additionalProperties':
        return {
          in: part,
          pointer: error.instancePath + jsonPointer(String(params['additionalProperty'])),
          message: 'is not an accepted field here (unknown, or cannot be changed)',
        };
      case 'required':
        return { in: part, pointer: error.instancePath + jsonPointer(String(params['missingProperty'])), message: 'is required' };
      default:
        return { in: part, pointer: error.instancePath, message: error.message ?? 'is not valid' };
    }
  });
}
