import type { AssetInput, Severity } from '../assets/asset.ts';
import type { AccountStatus, Vendor } from '../cloud-accounts/cloud-account.ts';
import type { PolicyRuleInput } from '../policy/policy-rule.ts';

/** The demo's fixed data: stable ids, so that seeding twice changes nothing and docs can name them. */

export const DEMO_CREDENTIALS: { id: string; vendor: Vendor; displayName: string; secret: Record<string, string> }[] = [
  {
    id: 'demo-cred-aws',
    vendor: 'aws',
    displayName: 'AWS read-only connector',
    secret: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  },
  {
    id: 'demo-cred-azure',
    vendor: 'azure',
    displayName: 'Azure reader (service principal)',
    secret: {
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      applicationId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590',
      applicationSecret: 'demo~NotARealSecret.0123456789',
    },
  },
  {
    id: 'demo-cred-gcp',
    vendor: 'gcp',
    displayName: 'GCP security reviewer',
    secret: {
      serviceAccountKey: JSON.stringify({
        type: 'service_account',
        project_id: 'acme-analytics-prod',
        private_key_id: '0000000000000000000000000000000000000000',
        private_key: '-----BEGIN PRIVATE KEY-----\nDEMO-NOT-A-REAL-KEY\n-----END PRIVATE KEY-----\n',
        client_email: 'tessera-reader@acme-analytics-prod.iam.gserviceaccount.com',
        client_id: '100000000000000000000',
      }),
    },
  },
];

export interface DemoAccount {
  id: string;
  vendor: Vendor;
  displayName: string;
  externalId: string;
  credentialId: string | null;
  status: AccountStatus;
  statusDetail: string | null;
  /** How many assets the account gets. */
  assets: number;
}

export const DEMO_ACCOUNTS: DemoAccount[] = [
  {
    id: 'demo-aws-production',
    vendor: 'aws',
    displayName: 'AWS Production',
    externalId: '123456789012',
    credentialId: 'demo-cred-aws',
    status: 'connected',
    statusDetail: null,
    assets: 95,
  },
  {
    id: 'demo-aws-staging',
    vendor: 'aws',
    displayName: 'AWS Staging',
    externalId: '210987654321',
    credentialId: 'demo-cred-aws',
    status: 'connected-with-warnings',
    statusDetail: 'CloudTrail is not enabled in eu-west-1.',
    assets: 55,
  },
  {
    id: 'demo-azure-corp',
    vendor: 'azure',
    displayName: 'Azure Corporate',
    externalId: '3f2b6c1e-8d4a-4f7b-9e21-5a6c7d8e9f01',
    credentialId: 'demo-cred-azure',
    status: 'connected',
    statusDetail: null,
    assets: 70,
  },
  {
    id: 'demo-azure-dev',
    vendor: 'azure',
    displayName: 'Azure Dev/Test',
    externalId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    credentialId: null,
    status: 'error',
    statusDetail: 'The credential was removed; showing the last inventory.',
    assets: 40,
  },
  {
    id: 'demo-gcp-analytics',
    vendor: 'gcp',
    displayName: 'GCP Analytics',
    externalId: 'acme-analytics-prod',
    credentialId: 'demo-cred-gcp',
    status: 'connected',
    statusDetail: null,
    assets: 65,
  },
  {
    id: 'demo-gcp-ml',
    vendor: 'gcp',
    displayName: 'GCP ML Platform',
    externalId: 'acme-ml-platform',
    credentialId: 'demo-cred-gcp',
    status: 'connected',
    statusDetail: null,
    assets: 45,
  },
];

/** Real CVEs with their NVD (CVSS v3) scores. */
export const DEMO_CVES: { id: string; severity: Severity; cvss: number; description: string }[] = [
  { id: 'CVE-2021-44228', severity: 'critical', cvss: 10, description: 'Apache Log4j2 JNDI lookup remote code execution (Log4Shell).' },
  { id: 'CVE-2024-3094', severity: 'critical', cvss: 10, description: 'Malicious code in the xz / liblzma release tarballs.' },
  { id: 'CVE-2022-22965', severity: 'critical', cvss: 9.8, description: 'Spring Framework data binding remote code execution (Spring4Shell).' },
  { id: 'CVE-2023-38545', severity: 'critical', cvss: 9.8, description: 'curl SOCKS5 proxy handshake heap buffer overflow.' },
  { id: 'CVE-2022-37434', severity: 'critical', cvss: 9.8, description: 'zlib inflate heap buffer over-read or overflow via a large gzip header extra field.' },
  { id: 'CVE-2023-25690', severity: 'critical', cvss: 9.8, description: 'Apache HTTP Server mod_proxy HTTP request smuggling.' },
  { id: 'CVE-2024-6387', severity: 'high', cvss: 8.1, description: 'OpenSSH sshd signal handler race condition (regreSSHion).' },
  { id: 'CVE-2023-4863', severity: 'high', cvss: 8.8, description: 'libwebp heap buffer overflow in lossless decoding.' },
  { id: 'CVE-2021-3156', severity: 'high', cvss: 7.8, description: 'sudo heap-based buffer overflow (Baron Samedit).' },
  { id: 'CVE-2023-44487', severity: 'high', cvss: 7.5, description: 'HTTP/2 rapid reset denial of service.' },
  { id: 'CVE-2022-0778', severity: 'high', cvss: 7.5, description: 'OpenSSL BN_mod_sqrt() infinite loop on crafted certificates.' },
  { id: 'CVE-2014-0160', severity: 'high', cvss: 7.5, description: 'OpenSSL TLS heartbeat read overrun (Heartbleed).' },
  { id: 'CVE-2023-48795', severity: 'medium', cvss: 5.9, description: 'SSH transport prefix truncation (Terrapin).' },
  { id: 'CVE-2023-5678', severity: 'medium', cvss: 5.3, description: 'OpenSSL excessive time spent generating or checking long DH keys.' },
  { id: 'CVE-2022-40897', severity: 'medium', cvss: 5.9, description: 'setuptools regular expression denial of service in package_index.' },
  { id: 'CVE-2020-11022', severity: 'medium', cvss: 6.1, description: 'jQuery cross-site scripting in htmlPrefilter.' },
  { id: 'CVE-2023-40217', severity: 'medium', cvss: 5.3, description: 'Python ssl module TLS handshake bypass on closed sockets.' },
  { id: 'CVE-2023-28322', severity: 'low', cvss: 3.7, description: 'curl more POST-after-PUT confusion.' },
  { id: 'CVE-2023-38546', severity: 'low', cvss: 3.7, description: 'curl cookie injection with none file.' },
  { id: 'CVE-2021-22898', severity: 'low', cvss: 3.1, description: 'curl TELNET stack contents disclosure.' },
];

export const DEMO_POLICY: PolicyRuleInput[] = [
  {
    id: 'deny-ssh-internet',
    name: 'No SSH from the internet',
    description: 'Administrators connect through the bastion hosts.',
    action: 'deny',
    protocol: 'tcp',
    source: 'internet',
    destination: 'any',
    ports: ['22'],
  },
  {
    id: 'deny-rdp-internet',
    name: 'No RDP from the internet',
    description: '',
    action: 'deny',
    protocol: 'tcp',
    source: 'internet',
    destination: 'any',
    ports: ['3389'],
  },
  {
    id: 'allow-https-web',
    name: 'HTTPS to the web tier',
    description: 'Public entry points only.',
    action: 'allow',
    protocol: 'tcp',
    source: 'internet',
    destination: 'tag:tier=web',
    ports: ['443'],
  },
  {
    id: 'allow-web-to-api',
    name: 'Web tier to API tier',
    description: '',
    action: 'allow',
    protocol: 'tcp',
    source: 'tag:tier=web',
    destination: 'tag:tier=api',
    ports: ['8080', '8443'],
  },
  {
    id: 'allow-api-to-db',
    name: 'API tier to databases',
    description: '',
    action: 'allow',
    protocol: 'tcp',
    source: 'tag:tier=api',
    destination: 'tag:tier=data',
    ports: ['5432', '3306', '1433'],
  },
  {
    id: 'allow-bastion-ssh',
    name: 'SSH from the bastion',
    description: '',
    action: 'allow',
    protocol: 'tcp',
    source: '10.10.0.0/24',
    destination: '10.0.0.0/8',
    ports: ['22'],
  },
  {
    id: 'deny-db-internet',
    name: 'Databases never face the internet',
    description: '',
    action: 'deny',
    protocol: 'any',
    source: 'internet',
    destination: 'tag:tier=data',
    ports: ['any'],
  },
  {
    id: 'allow-icmp-internal',
    name: 'ICMP inside the private ranges',
    description: 'Diagnostics.',
    action: 'allow',
    protocol: 'icmp',
    source: '10.0.0.0/8',
    destination: '10.0.0.0/8',
    ports: ['any'],
    enabled: false,
  },
];

const REGIONS: Record<Vendor, string[]> = {
  aws: ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1'],
  azure: ['westeurope', 'northeurope', 'eastus2'],
  gcp: ['us-central1', 'europe-west1', 'asia-northeast1'],
};

const TYPE_WEIGHTS: [AssetInput['type'], number][] = [
  ['virtual-machine', 40],
  ['storage-bucket', 12],
  ['database', 10],
  ['serverless-function', 12],
  ['load-balancer', 6],
  ['container-cluster', 5],
  ['security-group', 10],
  ['virtual-network', 5],
];

const SERVICES = ['web', 'api', 'orders', 'payments', 'search', 'auth', 'reports', 'billing', 'catalog', 'ingest', 'etl', 'ml-train', 'notify', 'gateway'];
const TEAMS = ['platform', 'payments', 'data', 'growth', 'security'];

/** A small seeded generator: the same account always gets the same inventory. */
function random(seedText: string): () => number {
  let seed = 0;
  for (const c of seedText) seed = (Math.imul(seed, 31) + c.charCodeAt(0)) | 0;
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function weighted(rand: () => number): AssetInput['type'] {
  const total = TYPE_WEIGHTS.reduce((n, [, w]) => n + w, 0);
  let r = rand() * total;
  for (const [type, w] of TYPE_WEIGHTS) {
    r -= w;
    if (r < 0) return type;
  }
  return 'virtual-machine';
}

function resourceId(vendor: Vendor, account: DemoAccount, type: AssetInput['type'], name: string, rand: () => number): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  switch (vendor) {
    case 'aws':
      return type === 'virtual-machine'
        ? `i-${hex(17)}`
        : type === 'storage-bucket'
          ? `arn:aws:s3:::${name}`
          : type === 'security-group'
            ? `sg-${hex(17)}`
            : type === 'virtual-network'
              ? `vpc-${hex(17)}`
              : `arn:aws:${type === 'database' ? 'rds' : type === 'serverless-function' ? 'lambda' : type === 'load-balancer' ? 'elasticloadbalancing' : 'eks'}:us-east-1:${account.externalId}:${name}`;
    case 'azure':
      return `/subscriptions/${account.externalId}/resourceGroups/rg-${name.split('-')[0]}/providers/Microsoft.${type === 'virtual-machine' ? 'Compute/virtualMachines' : type === 'storage-bucket' ? 'Storage/storageAccounts' : type === 'database' ? 'Sql/servers' : type === 'serverless-function' ? 'Web/sites' : type === 'load-balancer' ? 'Network/loadBalancers' : type === 'container-cluster' ? 'ContainerService/managedClusters' : type === 'security-group' ? 'Network/networkSecurityGroups' : 'Network/virtualNetworks'}/${name}`;
    case 'gcp':
      return `//${type === 'virtual-machine' || type === 'security-group' || type === 'virtual-network' || type === 'load-balancer' ? 'compute' : type === 'storage-bucket' ? 'storage' : type === 'database' ? 'sqladmin' : type === 'serverless-function' ? 'cloudfunctions' : 'container'}.googleapis.com/projects/${account.externalId}/${type}/${name}`;
  }
}

const CONTROLS: Partial<Record<AssetInput['type'], string[]>> = {
  'virtual-machine': ['disk-encryption', 'endpoint-protection', 'os-patching', 'imdsv2'],
  'storage-bucket': ['encryption-at-rest', 'versioning', 'block-public-access', 'access-logging'],
  database: ['encryption-at-rest', 'automated-backups', 'tls-required', 'deletion-protection'],
  'container-cluster': ['private-endpoint', 'network-policy', 'audit-logging'],
  'serverless-function': ['least-privilege-role', 'tracing'],
  'load-balancer': ['tls-1.2-minimum', 'waf', 'access-logging'],
};

/** The inventory of one demo account: realistic names, tags, networks and exposure. */
export function demoAssets(account: DemoAccount): AssetInput[] {
  const rand = random(account.id);
  const assets: AssetInput[] = [];
  const used = new Set<string>();
  for (let i = 0; assets.length < account.assets; i++) {
    const type = weighted(rand);
    const service = pick(rand, SERVICES);
    const env = account.id.includes('staging') || account.id.includes('dev') ? 'staging' : 'production';
    const suffix =
      type === 'storage-bucket' ? `${service}-${pick(rand, ['assets', 'logs', 'backups', 'exports', 'uploads'])}` : `${service}-${String(i + 1).padStart(2, '0')}`;
    const name = `${account.vendor === 'gcp' ? account.externalId.split('-')[1] : env.slice(0, 4)}-${suffix}`;
    if (used.has(name)) continue;
    used.add(name);
    const tier = service === 'web' || service === 'gateway' ? 'web' : type === 'database' || type === 'storage-bucket' ? 'data' : 'api';
    const region = pick(rand, REGIONS[account.vendor]);
    const exposed = (tier === 'web' && rand() < 0.7) || rand() < 0.08;
    const sshOpen = exposed && rand() < 0.3;
    const hasNetwork = type !== 'storage-bucket' && type !== 'serverless-function';
    const privateIp = `10.${Math.floor(rand() * 40)}.${Math.floor(rand() * 255)}.${1 + Math.floor(rand() * 250)}`;
    const publicIp = `${pick(rand, ['203.0.113', '198.51.100', '192.0.2'])}.${1 + Math.floor(rand() * 250)}`;
    const inbound = [
      ...(exposed ? [{ direction: 'inbound' as const, action: 'allow' as const, protocol: 'tcp' as const, ports: '443', cidr: '0.0.0.0/0' }] : []),
      ...(sshOpen ? [{ direction: 'inbound' as const, action: 'allow' as const, protocol: 'tcp' as const, ports: '22', cidr: '0.0.0.0/0' }] : []),
      { direction: 'inbound' as const, action: 'allow' as const, protocol: 'tcp' as const, ports: tier === 'data' ? '5432' : '8080-8443', cidr: '10.0.0.0/8' },
    ];
    const controls = (CONTROLS[type] ?? []).map((control) => {
      const r = rand();
      return {
        name: control,
        status: r < 0.75 ? ('enabled' as const) : r < 0.9 ? ('disabled' as const) : ('misconfigured' as const),
        detail: r >= 0.9 ? 'Differs from the baseline.' : null,
      };
    });
    assets.push({
      resourceId: resourceId(account.vendor, account, type, name, rand),
      type,
      name,
      region,
      exposure: type === 'storage-bucket' ? (rand() < 0.1 ? 'internet-exposed' : 'no-internet') : undefined,
      tags: { env, team: pick(rand, TEAMS), tier, service },
      properties:
        type === 'virtual-machine'
          ? {
              instanceType: pick(
                rand,
                account.vendor === 'aws'
                  ? ['t3.medium', 'm5.large', 'c6i.xlarge']
                  : account.vendor === 'azure'
                    ? ['Standard_D2s_v5', 'Standard_B2ms']
                    : ['e2-standard-2', 'n2-standard-4'],
              ),
              os: pick(rand, ['Ubuntu 22.04', 'Amazon Linux 2023', 'Windows Server 2022', 'Debian 12']),
              running: rand() < 0.9,
            }
          : type === 'database'
            ? { engine: pick(rand, ['postgres 15.4', 'mysql 8.0', 'sqlserver 2022']), storageGb: 20 + Math.floor(rand() * 500), multiAz: rand() < 0.5 }
            : type === 'serverless-function'
              ? { runtime: pick(rand, ['nodejs20.x', 'python3.12', 'java17']), memoryMb: pick(rand, [128, 256, 512, 1024]) }
              : type === 'container-cluster'
                ? { version: pick(rand, ['1.28', '1.29', '1.30']), nodes: 3 + Math.floor(rand() * 12) }
                : {},
      securityControls: controls,
      network: hasNetwork
        ? {
            networkId:
              account.vendor === 'aws' ? 'vpc-0a1b2c3d4e5f60718' : account.vendor === 'azure' ? `vnet-${env}` : `projects/${account.externalId}/global/networks/default`,
            subnetId: `${tier}-subnet-${region}`,
            privateIps: type === 'virtual-network' || type === 'security-group' ? [] : [privateIp],
            publicIps: exposed ? [publicIp] : [],
            securityGroups: [
              {
                id: `${account.vendor === 'aws' ? 'sg' : account.vendor === 'azure' ? 'nsg' : 'fw'}-${tier}-${env}`,
                name: `${tier}-${env}`,
                rules: [...inbound, { direction: 'outbound', action: 'allow', protocol: 'any', ports: 'any', cidr: '0.0.0.0/0' }],
              },
            ],
          }
        : undefined,
    });
  }
  return assets;
}

/** Which CVEs each demo asset carries (about one asset in four, only for software-running types). */
export function demoCvesFor(accountId: string, resourceIds: readonly string[], types: readonly AssetInput['type'][]): Map<string, typeof DEMO_CVES> {
  const rand = random(`${accountId}:cves`);
  const result = new Map<string, typeof DEMO_CVES>();
  resourceIds.forEach((resourceId, i) => {
    const type = types[i];
    if (type !== 'virtual-machine' && type !== 'container-cluster' && type !== 'serverless-function' && type !== 'database') return;
    if (rand() > 0.35) return;
    const count = 1 + Math.floor(rand() * 3);
    const chosen = new Map<string, (typeof DEMO_CVES)[number]>();
    for (let n = 0; n < count; n++) {
      const cve = pick(rand, DEMO_CVES);
      chosen.set(cve.id, cve);
    }
    result.set(resourceId, [...chosen.values()]);
  });
  return result;
}
