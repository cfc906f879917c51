import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { FieldError } from './errors.ts';

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

/** Turns Ajv's errors into field errors whose `field` is a path such as `body/roles/0/accounts`. */
export function fieldErrors(part: string, errors: readonly FastifySchemaValidationError[]): FieldError[] {
  return errors.map((error) => {
    const base = [part, ...error.instancePath.split('/').filter((s) => s !== '')].join('/');
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'additionalProperties':
        return { field: `${base}/${String(params['additionalProperty'])}`, message: 'is not an accepted field here (unknown, or cannot be changed)' };
      case 'required':
        return { field: `${base}/${String(params['missingProperty'])}`, message: 'is required' };
      default:
        return { field: base, message: error.message ?? 'is not valid' };
    }
  });
}
