import { Type } from 'typebox';
import { GrantSchema } from '../auth/grants.ts';
import { NullableTimestamp, Timestamp } from '../http/schemas.ts';

/** The JSON shape of a User (src/users/user.ts): the session's `user`, and the users API. */
export const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.String({ description: 'Unique (case-insensitively); cannot be changed.' }),
  displayName: Type.String(),
  roles: Type.Array(GrantSchema, { description: "The user's roles; the rights are their union." }),
  status: Type.Union([Type.Literal('active'), Type.Literal('pending')], { description: '"pending" until the invitation is accepted.' }),
  primary: Type.Boolean({ description: 'The first Global Admin: cannot be deleted or lose Global Admin.' }),
  createdAt: Timestamp('When the user was added.'),
  lastSignInAt: NullableTimestamp('The last successful sign-in (console or token).'),
  passwordGenerated: Type.Boolean({
    description:
      'The password is one Tessera generated and printed once (first run, or added without a password), not yet changed: the console asks the user to choose their own.',
  }),
});

/** A user as admins see it in the users API. */
export const ManagedUserSchema = Type.Object({
  ...UserSchema.properties,
  invitationExpiresAt: NullableTimestamp('When the pending invitation link expires; null for active users.'),
});

export const PasswordSchema = Type.String({ minLength: 1, maxLength: 1024, description: 'At least 12 characters.' });
