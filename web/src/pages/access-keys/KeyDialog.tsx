/** The Add Access Key window, and the same window for editing a key's roles, description, allowlist and rate limit. */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Form } from 'react-aria-components';
import { useMutation } from '@tanstack/react-query';
import { ACCESS_KEY_DESCRIPTION_MAX_LENGTH, ACCESS_KEY_NAME_MAX_LENGTH, visibleLength } from '../../../../src/shared/limits.ts';
import { api, call } from '../../api/client';
import { ApiError, messageFor } from '../../api/errors';
import { useAccessKeyPolicy, useAccountNames } from '../../api/queries';
import type { AccessKey, Grant, NewAccessKey } from '../../api/types';
import { draftsFromGrants, grantsFromDrafts, newRoleDraft, RoleBlocks, validateRoles, type RoleDraft, type RoleErrors } from '../../components/RoleBlocks';
import { Banner, Button, TextField, Window } from '../../components/ui';
import { formatDateTime } from '../../lib/format';
import { ExpirationField, useExpirationChoice } from './ExpirationField';
import { DryRunResult } from './DryRun';
import { GuardFields, guardErrorsFrom, useGuardFields, type GuardErrors } from './GuardFields';
import { describeLimit, lifetimeLimit } from './expiration';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Roles compared as the server keeps them: one grant per role, accounts in any order. */
function sameRoles(a: readonly Grant[], b: readonly Grant[]): boolean {
  const canonical = (grants: readonly Grant[]) =>
    JSON.stringify(
      grants.map((g) => (g.role === 'cloud-account-viewer' ? `${g.role}:${g.accounts === 'all' ? '*' : [...new Set(g.accounts)].sort().join(',')}` : g.role)).sort(),
    );
  return canonical(a) === canonical(b);
}

interface Errors extends GuardErrors {
  name?: string;
  description?: string;
  days?: string;
  roles?: RoleErrors[];
  form?: string;
}

export function KeyDialog({
  editing,
  initialRoles,
  onClose,
  onAdded,
  onSaved,
}: {
  /** The key to edit; undefined to add one. */
  editing?: AccessKey;
  /** Editing: roles to start from instead of the key's own (the advice, offered on the key's page). */
  initialRoles?: Grant[];
  onClose: () => void;
  onAdded: (key: NewAccessKey) => void;
  onSaved: (key: AccessKey) => void;
}) {
  const [name, setName] = useState(editing?.name ?? '');
  const [description, setDescription] = useState(editing?.description ?? '');
  const [drafts, setDrafts] = useState<RoleDraft[]>(() => (editing ? draftsFromGrants(initialRoles ?? editing.roles) : [newRoleDraft()]));
  const policy = useAccessKeyPolicy().data;
  const limit = lifetimeLimit(policy, drafts);
  const expiration = useExpirationChoice(limit);
  const guards = useGuardFields(editing);
  const [checked, setChecked] = useState(false);
  const [serverErrors, setServerErrors] = useState<Errors>({});
  const nameRef = useRef<HTMLInputElement>(null);
  const daysRef = useRef<HTMLInputElement>(null);
  const descriptionRef = useRef<HTMLInputElement>(null);
  const formErrorRef = useRef<HTMLDivElement>(null);
  const [refused, setRefused] = useState(0);

  // The Add button is disabled while the request runs, which drops focus to <body>: a refusal
  // puts it back on what the server refused, so a keyboard or screen reader user lands on it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a new refusal moves focus, not the edits that clear its messages.
  useEffect(() => {
    if (refused === 0) return;
    const target = serverErrors.name
      ? nameRef.current
      : serverErrors.days
        ? daysRef.current
        : serverErrors.description
          ? descriptionRef.current
          : serverErrors.form
            ? formErrorRef.current
            : null;
    target?.focus();
  }, [refused]);

  const check = (): Errors => {
    const errors: Errors = {};
    if (!editing) {
      const trimmed = name.trim();
      if (trimmed === '') errors.name = 'Enter a name for the access key.';
      else if (visibleLength(trimmed) > ACCESS_KEY_NAME_MAX_LENGTH)
        errors.name = `Use at most ${ACCESS_KEY_NAME_MAX_LENGTH} characters (this one has ${visibleLength(trimmed)}).`;
      else if (CONTROL.test(trimmed)) errors.name = 'The name cannot contain control characters.';
      errors.days = expiration.error;
    }
    const describedLength = visibleLength(description);
    if (describedLength > ACCESS_KEY_DESCRIPTION_MAX_LENGTH)
      errors.description = `Use at most ${ACCESS_KEY_DESCRIPTION_MAX_LENGTH} characters (this one has ${describedLength}).`;
    else if (CONTROL.test(description)) errors.description = 'The description cannot contain control characters or line breaks.';
    else if (policy?.requireDescription === true && description.trim() === '') errors.description = 'The access key policy requires a description.';
    const roleErrors = validateRoles(drafts);
    if (roleErrors.some((e) => e.role !== undefined || e.accounts !== undefined)) errors.roles = roleErrors;
    return { ...errors, ...guards.check() };
  };
  const accountNames = useAccountNames();
  // Editing: once the roles differ from the key's (and are complete), what they would have refused of its recorded requests.
  const proposedRoles =
    editing !== undefined && !validateRoles(drafts).some((e) => e.role !== undefined || e.accounts !== undefined) ? grantsFromDrafts(drafts) : undefined;
  const rolesChanged = proposedRoles !== undefined && editing !== undefined && !sameRoles(proposedRoles, editing.roles);
  const local = checked ? check() : {};
  const errors: Errors = { ...local, ...serverErrors, roles: local.roles };

  const save = useMutation({
    mutationFn: async () => {
      const roles = grantsFromDrafts(drafts);
      const text = description.trim() === '' ? null : description;
      const { allowedCidrs, rateLimit } = guards.value();
      if (editing)
        return {
          saved: await call(api.PATCH('/api/v1/access-keys/{id}', { params: { path: { id: editing.id } }, body: { roles, description: text, allowedCidrs, rateLimit } })),
        };
      return {
        added: await call(
          api.POST('/api/v1/access-keys', {
            body: { name: name.trim(), expiration: expiration.value, roles, ...(text === null ? {} : { description: text }), allowedCidrs, rateLimit },
          }),
        ),
      };
    },
    onSuccess: (result) => {
      if (result.added) onAdded(result.added);
      if (result.saved) onSaved(result.saved);
    },
    onError: (error) => {
      setRefused((n) => n + 1);
      if (error instanceof ApiError) {
        if (error.code === 'name_taken') return setServerErrors({ name: 'An access key with this name already exists. Choose a unique name.' });
        if (error.code === 'validation_failed') {
          const guardErrors = guardErrorsFrom(error, guards.value().allowedCidrs);
          if (guardErrors !== undefined) return setServerErrors(guardErrors);
        }
        if (error.code === 'validation_failed' || error.code === 'policy_violation') {
          const nameError = error.fieldError('/name');
          const daysError = error.fieldError('/expiration') ?? error.fieldError('/expiration/days');
          const descriptionError = error.fieldError('/description');
          if (nameError || daysError || descriptionError)
            return setServerErrors({
              name: nameError ? `Name ${nameError}.` : undefined,
              days: daysError ? `Expiration ${daysError}.` : undefined,
              description: descriptionError ? `Description ${descriptionError}.` : undefined,
            });
        }
      }
      // A role edit beyond the policy's limit: the server's detail names the role and the limit.
      if (error instanceof ApiError && error.code === 'policy_violation') return setServerErrors({ form: error.message });
      setServerErrors({ form: messageFor(error) });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    setServerErrors({});
    const found = check();
    if (found.name || found.days || found.description || found.roles || found.allowedCidrs || found.requests || found.perSeconds) return;
    save.mutate();
  }

  return (
    <Window title={editing ? 'Edit Access Key' : 'Add Access Key'} isOpen onOpenChange={(open) => !open && !save.isPending && onClose()} size="md">
      <Form onSubmit={submit} className="dialog-form" validationBehavior="aria">
        <div className="dialog-body">
          {errors.form !== undefined && (
            <div ref={formErrorRef} tabIndex={-1} className="focus-target">
              <Banner>{errors.form}</Banner>
            </div>
          )}
          {editing ? (
            <>
              <TextField label="Access Key Name" value={editing.name} isReadOnly description="The name cannot be changed." />
              <p className="read-only-fact">
                <span className="fact-label">Expiration Date</span> {formatDateTime(editing.expiresAt)}
              </p>
              {limit !== undefined && <p className="field-hint">{describeLimit(limit)} Roll the key to change its expiration.</p>}
            </>
          ) : (
            <>
              <TextField
                label="Access Key Name"
                value={name}
                onChange={(v) => {
                  setName(v);
                  if (serverErrors.name) setServerErrors({ ...serverErrors, name: undefined });
                }}
                error={errors.name}
                inputRef={nameRef}
                autoFocus
                description="Unique; it cannot be changed later."
              />
              <ExpirationField state={expiration} limit={limit} error={errors.days} daysRef={daysRef} />
            </>
          )}
          <TextField
            label="Description (optional)"
            value={description}
            onChange={(v) => {
              setDescription(v);
              if (serverErrors.description) setServerErrors({ ...serverErrors, description: undefined });
            }}
            error={errors.description}
            inputRef={descriptionRef}
            description={`What the key is for, at most ${ACCESS_KEY_DESCRIPTION_MAX_LENGTH} characters.`}
          />
          <RoleBlocks
            drafts={drafts}
            onChange={(next) => {
              setDrafts(next);
              // New roles bring a new policy limit: the server's complaint about the old ones is stale.
              setServerErrors((e) => ({ ...e, form: undefined, days: undefined }));
            }}
            errors={errors.roles}
          />
          <GuardFields
            state={guards}
            errors={errors}
            onEdit={() => setServerErrors((e) => ({ ...e, allowedCidrs: undefined, requests: undefined, perSeconds: undefined }))}
          />
          {rolesChanged && editing !== undefined && proposedRoles !== undefined && (
            <section className="dry-run" aria-label="Effect on recorded requests">
              <DryRunResult keyId={editing.id} roles={proposedRoles} accountNames={accountNames} />
            </section>
          )}
        </div>
        <footer className="dialog-footer">
          <Button onPress={onClose} isDisabled={save.isPending}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" isDisabled={save.isPending}>
            {editing ? (save.isPending ? 'Saving…' : 'Save') : save.isPending ? 'Adding…' : 'Add'}
          </Button>
        </footer>
      </Form>
    </Window>
  );
}
