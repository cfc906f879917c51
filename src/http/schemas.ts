import { Type, type TSchema } from 'typebox';
import { ERRORS, REQUEST_PARTS, type ErrorCode } from './errors.ts';

/** The RFC 9457 body every error answer has. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.Union(
      (Object.keys(ERRORS) as ErrorCode[]).map((code) => Type.Literal(code)),
      { description: 'Stable: match on it (docs/ERRORS.md).' },
    ),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          in: Type.Union(
            REQUEST_PARTS.map((part) => Type.Literal(part)),
            { description: 'The part of the request the field is in.' },
          ),
          pointer: Type.String({ description: 'An RFC 6901 JSON Pointer into that part: "/expiration/days", "/roles/0/accounts/1"; "" for the whole part.' }),
          message: Type.String(),
        }),
      ),
    ),
    unknownAccounts: Type.Optional(Type.Array(Type.String())),
    role: Type.Optional(Type.String({ description: 'policy_violation: the role whose lifetime limit the key exceeds.' })),
    maxDays: Type.Optional(Type.Integer({ description: "policy_violation: that role's limit, in days." })),
  },
  { description: 'An application/problem+json error (RFC 9457); `code` is stable, see docs/ERRORS.md.' },
);

/** Standard error answers for an operation, so the API homepage documents them. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ProblemSchema]));
}

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'The resource id.' }) }, { additionalProperties: false });

export const Timestamp = (description: string) => Type.String({ format: 'date-time', description });
export const NullableTimestamp = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Items per page (1–200).' })),
  cursor: Type.Optional(Type.String({ maxLength: 1024, description: 'The `nextCursor` of the previous page.' })),
};

export const page = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page.' }),
  });
