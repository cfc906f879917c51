/** Main Menu > Policy: the public cloud policy, in order; Global Admins edit it (the whole policy is replaced at once). */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Cell, Column, Form, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { api, call } from '../api/client';
import { ApiError, messageFor } from '../api/errors';
import type { PolicyRule, PolicyRuleInput } from '../api/types';
import { useSession } from '../auth/session';
import { PageHeader } from '../components/Layout';
import { Banner, Button, Checkbox, Icon, RowActions, Select, TextField, Window } from '../components/ui';
import { formatDateTime } from '../lib/format';

const toInput = (r: PolicyRule): PolicyRuleInput => ({
  id: r.id,
  name: r.name,
  description: r.description,
  action: r.action,
  protocol: r.protocol,
  source: r.source,
  destination: r.destination,
  ports: r.ports,
  enabled: r.enabled,
});

function RuleForm({ rule, onClose, onSave, error }: { rule?: PolicyRule; onClose: () => void; onSave: (rule: PolicyRuleInput) => void; error?: string }) {
  const [name, setName] = useState(rule?.name ?? '');
  const [description, setDescription] = useState(rule?.description ?? '');
  const [action, setAction] = useState<PolicyRuleInput['action']>(rule?.action ?? 'deny');
  const [protocol, setProtocol] = useState<PolicyRuleInput['protocol']>(rule?.protocol ?? 'tcp');
  const [source, setSource] = useState(rule?.source ?? 'internet');
  const [destination, setDestination] = useState(rule?.destination ?? 'any');
  const [ports, setPorts] = useState((rule?.ports ?? ['any']).join(', '));
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const [checked, setChecked] = useState(false);
  const required = (v: string, what: string) => (checked && v.trim() === '' ? `Enter ${what}.` : undefined);
  function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    if (!name.trim() || !source.trim() || !destination.trim() || !ports.trim()) return;
    onSave({
      ...(rule ? { id: rule.id } : {}),
      name: name.trim(),
      description: description.trim(),
      action,
      protocol,
      source: source.trim(),
      destination: destination.trim(),
      ports: ports
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
      enabled,
    });
  }
  return (
    <Window title={rule ? 'Edit Rule' : 'Add Rule'} isOpen onOpenChange={(o) => !o && onClose()}>
      <Form onSubmit={submit} className="dialog-form" validationBehavior="aria">
        <div className="dialog-body">
          {error && <Banner>{error}</Banner>}
          <TextField label="Name" value={name} onChange={setName} error={required(name, 'a name')} autoFocus />
          <TextField label="Description" value={description} onChange={setDescription} />
          <div className="two-col">
            <Select
              label="Action"
              options={[
                { id: 'allow', label: 'Allow' },
                { id: 'deny', label: 'Deny' },
              ]}
              value={action}
              onChange={(v) => setAction(v as PolicyRuleInput['action'])}
            />
            <Select
              label="Protocol"
              options={['tcp', 'udp', 'icmp', 'any'].map((p) => ({ id: p, label: p.toUpperCase() }))}
              value={protocol}
              onChange={(v) => setProtocol(v as PolicyRuleInput['protocol'])}
            />
          </div>
          <TextField
            label="Source"
            value={source}
            onChange={setSource}
            error={required(source, 'a source')}
            description='"any", "internet", a CIDR such as 10.0.0.0/8, or tag:env=prod'
          />
          <TextField label="Destination" value={destination} onChange={setDestination} error={required(destination, 'a destination')} description="As for the source." />
          <TextField
            label="Ports"
            value={ports}
            onChange={setPorts}
            error={required(ports, 'ports, or any')}
            description='"any", or ports and ranges separated by commas: 443, 8000-8080'
          />
          <Checkbox isSelected={enabled} onChange={setEnabled}>
            Enabled
          </Checkbox>
        </div>
        <footer className="dialog-footer">
          <Button onPress={onClose}>Cancel</Button>
          <Button type="submit" variant="primary">
            {rule ? 'Save' : 'Add'}
          </Button>
        </footer>
      </Form>
    </Window>
  );
}

type Dialog = { kind: 'rule'; rule?: PolicyRule } | { kind: 'remove'; rule: PolicyRule } | null;

export function PolicyPage() {
  const { may } = useSession();
  const canWrite = may('policy:write');
  const queries = useQueryClient();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [notice, setNotice] = useState<string | undefined>();
  const policy = useQuery({ queryKey: ['policy'], queryFn: () => call(api.GET('/api/v1/policy/rules')) });
  const rules = policy.data?.rules ?? [];
  const replace = useMutation({
    mutationFn: (next: PolicyRuleInput[]) => call(api.PUT('/api/v1/policy/rules', { body: { rules: next } })),
    onSuccess: (data) => {
      queries.setQueryData(['policy'], data);
      setDialog(null);
      setNotice('The policy was saved.');
    },
  });
  const replaceError = replace.isError
    ? replace.error instanceof ApiError && replace.error.code === 'validation_failed'
      ? `${messageFor(replace.error)} ${replace.error.problem.detail}`
      : messageFor(replace.error)
    : undefined;
  const move = (index: number, by: number) => {
    const next = rules.map(toInput);
    const [rule] = next.splice(index, 1);
    next.splice(index + by, 0, rule!);
    replace.mutate(next);
  };

  return (
    <>
      <PageHeader
        title="Policy"
        description={
          <>
            The public cloud policy: rules are checked in order and the first that matches decides.
            {policy.data?.updatedAt ? ` Last changed ${formatDateTime(policy.data.updatedAt)}.` : ''}
          </>
        }
        actions={
          canWrite ? (
            <Button
              variant="primary"
              onPress={() => {
                replace.reset();
                setDialog({ kind: 'rule' });
              }}
            >
              <Icon name="plus" /> Add rule
            </Button>
          ) : undefined
        }
      />
      {notice && <Banner tone="success">{notice}</Banner>}
      {policy.isError && <Banner>{messageFor(policy.error)}</Banner>}
      {replaceError && !dialog && <Banner>{replaceError}</Banner>}
      <div className="table-wrap">
        <Table aria-label="Policy rules" className="table stack-on-narrow">
          <TableHeader>
            <Column>#</Column>
            <Column isRowHeader>Name</Column>
            <Column>Action</Column>
            <Column>Protocol</Column>
            <Column>Source</Column>
            <Column>Destination</Column>
            <Column>Ports</Column>
            <Column>State</Column>
            <Column className="col-actions">
              <span className="visually-hidden">Actions</span>
            </Column>
          </TableHeader>
          <TableBody
            items={rules.map((r, i) => ({ ...r, index: i }))}
            renderEmptyState={() => <div className="table-empty">{policy.isPending ? 'Loading the policy…' : 'The policy has no rules.'}</div>}
          >
            {(r) => (
              <Row id={r.id} className="row">
                <Cell data-label="#">{r.index + 1}</Cell>
                <Cell className="cell-name" data-label="Name">
                  {r.name}
                  {r.description && <div className="muted small">{r.description}</div>}
                </Cell>
                <Cell data-label="Action">
                  <span className={`badge ${r.action === 'allow' ? 'badge-active' : 'badge-expired'}`}>{r.action === 'allow' ? 'Allow' : 'Deny'}</span>
                </Cell>
                <Cell data-label="Protocol">{r.protocol.toUpperCase()}</Cell>
                <Cell data-label="Source">
                  <code>{r.source}</code>
                </Cell>
                <Cell data-label="Destination">
                  <code>{r.destination}</code>
                </Cell>
                <Cell data-label="Ports">{r.ports.join(', ')}</Cell>
                <Cell data-label="State">{r.enabled ? 'Enabled' : <span className="muted">Disabled</span>}</Cell>
                <Cell className="cell-actions">
                  {canWrite && (
                    <RowActions
                      label={`Actions for ${r.name}`}
                      actions={[
                        { id: 'edit', label: 'Edit rule' },
                        { id: 'up', label: 'Move up', disabled: r.index === 0 },
                        { id: 'down', label: 'Move down', disabled: r.index === rules.length - 1 },
                        { id: 'remove', label: 'Remove rule', danger: true },
                      ]}
                      onAction={(k) => {
                        replace.reset();
                        if (k === 'edit') setDialog({ kind: 'rule', rule: r });
                        else if (k === 'remove') setDialog({ kind: 'remove', rule: r });
                        else move(r.index, k === 'up' ? -1 : 1);
                      }}
                    />
                  )}
                </Cell>
              </Row>
            )}
          </TableBody>
        </Table>
      </div>
      {dialog?.kind === 'rule' && (
        <RuleForm
          rule={dialog.rule}
          error={replaceError}
          onClose={() => setDialog(null)}
          onSave={(rule) => {
            const next = rules.map(toInput);
            if (rule.id)
              next.splice(
                next.findIndex((x) => x.id === rule.id),
                1,
                rule,
              );
            else next.push(rule);
            replace.mutate(next);
          }}
        />
      )}
      {dialog?.kind === 'remove' && (
        <Window title="Remove rule" isOpen alert size="sm" onOpenChange={(o) => !o && setDialog(null)}>
          <div className="dialog-body">
            <p>
              Remove the rule <strong>{dialog.rule.name}</strong> from the policy?
            </p>
            {replaceError && <Banner>{replaceError}</Banner>}
          </div>
          <footer className="dialog-footer">
            <Button onPress={() => setDialog(null)}>Cancel</Button>
            <Button variant="danger" onPress={() => replace.mutate(rules.filter((x) => x.id !== dialog.rule.id).map(toInput))}>
              Remove
            </Button>
          </footer>
        </Window>
      )}
    </>
  );
}
