/**
 * A key's actions (edit, roll, disable or enable, remove) and the windows they open: one
 * implementation for the list's row menu and the key's own page.
 */
import { useState, type ReactNode } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { messageFor } from '../../api/errors';
import type { AccessKey, Grant, RolledAccessKey } from '../../api/types';
import { Banner, Button, Window, type RowAction } from '../../components/ui';
import { KeyDetailsWindow } from './KeyDetailsWindow';
import { KeyDialog } from './KeyDialog';
import { RollDialog } from './RollDialog';

type Open =
  | { kind: 'edit'; key: AccessKey; roles?: Grant[] }
  | { kind: 'remove'; key: AccessKey }
  | { kind: 'roll'; key: AccessKey }
  | { kind: 'rolled'; key: RolledAccessKey }
  | null;

export interface KeyActions {
  /** The menu entries for a key. */
  actionsFor(key: AccessKey): RowAction[];
  /** Runs a menu entry's action. */
  run(key: AccessKey, action: string): void;
  /** Opens the Edit window with other roles filled in (the advice), for the user to check and save. */
  editWithRoles(key: AccessKey, roles: Grant[]): void;
  /** The windows the actions open; render once. */
  windows: ReactNode;
  /** What the last action did, or why it failed. */
  notice: string | undefined;
  error: string | undefined;
  clearMessages(): void;
}

export function useKeyActions({ onRemoved }: { onRemoved?: (key: AccessKey) => void } = {}): KeyActions {
  const queries = useQueryClient();
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const changed = () => void queries.invalidateQueries({ queryKey: ['access-keys'] });

  const remove = useMutation({
    mutationFn: (key: AccessKey) => call(api.DELETE('/api/v1/access-keys/{id}', { params: { path: { id: key.id } } })),
    onSuccess: (_data, key) => {
      setOpen(null);
      setNotice(`The access key “${key.name}” was removed. Its token is refused from now on.`);
      changed();
      onRemoved?.(key);
    },
  });

  const switchKey = useMutation({
    mutationFn: ({ key, disabled }: { key: AccessKey; disabled: boolean }) =>
      call(api.PATCH('/api/v1/access-keys/{id}', { params: { path: { id: key.id } }, body: { disabled } })),
    onSuccess: (key) => {
      setNotice(
        key.status === 'disabled'
          ? `The access key “${key.name}” was disabled. Its token is refused until you enable it again.`
          : `The access key “${key.name}” was enabled. Its token works again.`,
      );
      changed();
    },
    onError: (failure) => {
      setNotice(undefined);
      setError(messageFor(failure));
    },
  });

  const windows = (
    <>
      {open?.kind === 'edit' && (
        <KeyDialog
          editing={open.key}
          initialRoles={open.roles}
          onClose={() => setOpen(null)}
          onAdded={() => setOpen(null)}
          onSaved={(key) => {
            setOpen(null);
            setNotice(`The changes to “${key.name}” were saved. New roles apply from the key's next request.`);
            changed();
          }}
        />
      )}
      {open?.kind === 'roll' && (
        <RollDialog
          accessKey={open.key}
          onClose={() => setOpen(null)}
          onRolled={(key) => {
            setNotice(undefined);
            setOpen({ kind: 'rolled', key });
            changed();
          }}
        />
      )}
      {open?.kind === 'rolled' && <KeyDetailsWindow accessKey={open.key} rolled onClose={() => setOpen(null)} />}
      {open?.kind === 'remove' && (
        <Window title="Remove access key" isOpen alert onOpenChange={(isOpen) => !isOpen && !remove.isPending && setOpen(null)} size="sm">
          <div className="dialog-body">
            <p>
              Remove the access key <strong>{open.key.name}</strong>? Applications using its token will be refused from their next request. This cannot be undone.
            </p>
            {remove.isError && <Banner>{messageFor(remove.error)}</Banner>}
          </div>
          <footer className="dialog-footer">
            {/* The safe answer has focus first: Enter must not remove a key. */}
            <Button onPress={() => setOpen(null)} isDisabled={remove.isPending} autoFocus>
              Cancel
            </Button>
            <Button variant="danger" onPress={() => remove.mutate(open.key)} isDisabled={remove.isPending}>
              {remove.isPending ? 'Removing…' : 'Remove'}
            </Button>
          </footer>
        </Window>
      )}
    </>
  );

  return {
    actionsFor: (key) => [
      { id: 'edit', label: 'Edit access key' },
      { id: 'roll', label: 'Roll access key' },
      key.status === 'disabled' ? { id: 'enable', label: 'Enable access key' } : { id: 'disable', label: 'Disable access key', disabled: key.status === 'expired' },
      { id: 'remove', label: 'Remove access key', danger: true },
    ],
    run: (key, action) => {
      setError(undefined);
      if (action === 'disable' || action === 'enable') switchKey.mutate({ key, disabled: action === 'disable' });
      else if (action === 'edit' || action === 'roll' || action === 'remove') {
        remove.reset();
        setOpen({ kind: action, key });
      }
    },
    editWithRoles: (key, roles) => {
      setError(undefined);
      setOpen({ kind: 'edit', key, roles });
    },
    windows,
    notice,
    error,
    clearMessages: () => {
      setNotice(undefined);
      setError(undefined);
    },
  };
}
