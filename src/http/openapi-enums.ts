type Json = unknown;

/** A schema that allows one value: TypeBox's literal, as @fastify/swagger writes it. */
function singleValue(schema: Json): { type: unknown; value: unknown } | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
  const { type, enum: values, const: constant, ...rest } = schema as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return undefined;
  if (constant !== undefined && values === undefined) return { type, value: constant };
  if (Array.isArray(values) && values.length === 1 && constant === undefined) return { type, value: values[0] };
  return undefined;
}

/**
 * The OpenAPI document with every union of literals written as one enum: TypeBox writes
 * `Type.Union([Type.Literal('a'), …])` as `anyOf` of one-value schemas, which documentation
 * tools show as `string | (string | string)`; `{ type: 'string', enum: ['a', …] }` they show
 * as its values. Validation is unchanged: it uses the routes' own schemas.
 */
export function enumsAsValues<T>(node: T): T {
  if (Array.isArray(node)) return node.map(enumsAsValues) as T;
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = enumsAsValues(value);
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const branches = out[keyword];
    if (!Array.isArray(branches) || branches.length < 2) continue;
    const literals = branches.map(singleValue);
    if (literals.some((literal) => literal === undefined)) continue;
    const types = new Set(literals.map((literal) => literal?.type));
    if (types.size !== 1) continue;
    const [type] = types;
    delete out[keyword];
    if (type !== undefined) out['type'] = type;
    out['enum'] = literals.map((literal) => literal?.value);
  }
  return out as T;
}
