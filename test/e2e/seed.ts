/**
 * A small, realistic inventory made through the public API (as a connector would), so the
 * console has accounts, assets, CVEs and a policy to show.
 */
import type { APIRequestContext } from '@playwright/test';
import { BASE_URL, cli } from './helpers.ts';

async function ok<T>(response: Promise<import('@playwright/test').APIResponse>): Promise<T> {
  const r = await response;
  if (!r.ok()) throw new Error(`${r.url()} answered ${r.status()}: ${await r.text()}`);
  return (r.status() === 204 ? undefined : await r.json()) as T;
}

/** A Global Admin API key made with the CLI. */
export function adminToken(name: string): string {
  return (JSON.parse(cli(['keys', 'create', '--name', name, '--role', 'global-admin', '--expires', '7d', '--json'])) as { token: string }).token;
}

export async function seedInventory(request: APIRequestContext, token: string): Promise<{ accounts: { id: string; displayName: string }[] }> {
  const headers = { authorization: `Bearer ${token}` };
  const post = <T>(path: string, data: unknown) => ok<T>(request.post(`${BASE_URL}${path}`, { headers, data }));
  const existing = await ok<{ items: { id: string; displayName: string }[] }>(request.get(`${BASE_URL}/api/v1/cloud-accounts?limit=200`, { headers }));
  if (existing.items.length > 0) return { accounts: existing.items };

  const awsCred = await post<{ id: string }>('/api/v1/credentials', {
    vendor: 'aws',
    displayName: 'AWS connector',
    secret: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  });
  await post('/api/v1/credentials', {
    vendor: 'azure',
    displayName: 'Azure connector',
    secret: { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', applicationId: '4a1aa1d5-c567-49d0-ad0b-cd957a47f842', applicationSecret: 'example-application-secret' },
  });
  const specs = [
    { vendor: 'aws', displayName: 'Production (AWS)', externalId: '123456789012', credentialId: awsCred.id },
    { vendor: 'aws', displayName: 'Staging (AWS)', externalId: '210987654321', credentialId: awsCred.id },
    { vendor: 'azure', displayName: 'Corporate IT (Azure)', externalId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590' },
    { vendor: 'gcp', displayName: 'Data platform (GCP)', externalId: 'data-platform-prod' },
  ];
  const accounts = [];
  for (const spec of specs) accounts.push(await post<{ id: string; displayName: string; vendor: string }>('/api/v1/cloud-accounts', spec));

  const regions: Record<string, string> = { aws: 'eu-west-1', azure: 'westeurope', gcp: 'europe-west4' };
  for (const [i, account] of accounts.entries()) {
    const assets = [
      {
        resourceId: `vm-${i}-web`,
        type: 'virtual-machine',
        name: `web-frontend-${i + 1}`,
        region: regions[account.vendor],
        exposure: 'internet-exposed',
        tags: { env: i === 1 ? 'staging' : 'prod', team: 'web' },
        properties: { instanceType: 'm6i.large', os: 'Ubuntu 24.04' },
        securityControls: [{ name: 'disk-encryption', status: 'enabled' }],
        network: {
          networkId: `net-${i}`,
          subnetId: `subnet-${i}a`,
          privateIps: [`10.${i}.1.10`],
          publicIps: [`203.0.113.${10 + i}`],
          securityGroups: [{ id: `sg-${i}`, name: 'web', rules: [{ direction: 'inbound', action: 'allow', protocol: 'tcp', ports: '443', cidr: '0.0.0.0/0' }] }],
        },
      },
      {
        resourceId: `db-${i}-main`,
        type: 'database',
        name: `orders-db-${i + 1}`,
        region: regions[account.vendor],
        exposure: 'no-internet',
        tags: { env: 'prod', data: 'pii' },
        properties: { engine: 'postgres', version: '16.4' },
        securityControls: [
          { name: 'encryption-at-rest', status: 'enabled' },
          { name: 'backup', status: 'misconfigured', detail: 'Retention is 1 day' },
        ],
      },
      {
        resourceId: `bucket-${i}-logs`,
        type: 'storage-bucket',
        name: `audit-logs-${i + 1}`,
        region: regions[account.vendor],
        exposure: i === 0 ? 'internet-exposed' : 'no-internet',
        tags: { retention: '365d' },
        properties: { versioning: true },
        securityControls: [{ name: 'public-access-block', status: i === 0 ? 'disabled' : 'enabled' }],
      },
      {
        resourceId: `k8s-${i}`,
        type: 'container-cluster',
        name: `apps-cluster-${i + 1}`,
        region: regions[account.vendor],
        exposure: 'no-internet',
        tags: { env: 'prod' },
        properties: { version: '1.31', nodes: 6 },
      },
    ];
    await ok(request.put(`${BASE_URL}/api/v1/cloud-accounts/${account.id}/assets`, { headers, data: { assets } }));
  }
  const list = await ok<{ items: { id: string; name: string }[] }>(request.get(`${BASE_URL}/api/v1/assets?limit=200`, { headers }));
  const web = list.items.find((a) => a.name === 'web-frontend-1');
  if (web) {
    await post(`/api/v1/assets/${web.id}/cves`, {
      cves: [
        { id: 'CVE-2024-6387', severity: 'high', cvss: 8.1, description: 'OpenSSH regreSSHion: signal handler race condition.' },
        { id: 'CVE-2021-44228', severity: 'critical', cvss: 10, description: 'Apache Log4j2 JNDI remote code execution.' },
      ],
    });
  }
  await ok(
    request.put(`${BASE_URL}/api/v1/policy/rules`, {
      headers,
      data: {
        rules: [
          {
            name: 'Deny SSH from the internet',
            description: 'No direct SSH; use the bastion.',
            action: 'deny',
            protocol: 'tcp',
            source: 'internet',
            destination: 'any',
            ports: ['22'],
          },
          { name: 'Allow HTTPS to web', action: 'allow', protocol: 'tcp', source: 'internet', destination: 'tag:team=web', ports: ['443'] },
          { name: 'Deny databases from the internet', action: 'deny', protocol: 'any', source: 'internet', destination: 'tag:data=pii', ports: ['any'] },
        ],
      },
    }),
  );
  return { accounts };
}
