import { CLI_ACTOR } from '../../src/auth/principal.ts';
import type { AssetInput } from '../../src/assets/asset.ts';
import type { CloudAccount, Vendor } from '../../src/cloud-accounts/cloud-account.ts';
import type { Harness } from './harness.ts';

let counter = 0;

/** A valid external id for a vendor, different on each call. */
export function externalIdFor(vendor: Vendor): string {
  const n = ++counter;
  switch (vendor) {
    case 'aws':
      return String(100000000000 + n * 7919 + Math.floor(Math.random() * 1000));
    case 'azure':
      return `${n.toString(16).padStart(8, '0')}-1bf0-4dda-aec3-${Math.floor(Math.random() * 1e12)
        .toString(16)
        .padStart(12, '0')
        .slice(0, 12)}`;
    case 'gcp':
      return `project-${n}-${Math.floor(Math.random() * 1e6)}`;
  }
}

/** Adds a cloud account through the service (as the demo seeder does). */
export async function addAccount(h: Harness, vendor: Vendor = 'aws', displayName = `Account ${++counter}`, id?: string): Promise<CloudAccount> {
  return h.ctx.cloudAccounts.create(CLI_ACTOR, { vendor, displayName, externalId: externalIdFor(vendor) }, id);
}

/** A virtual machine with a public IP open to the internet on 443 when `exposed`. */
export function vm(resourceId: string, options: { name?: string; exposed?: boolean; type?: AssetInput['type']; tags?: Record<string, string> } = {}): AssetInput {
  return {
    resourceId,
    type: options.type ?? 'virtual-machine',
    name: options.name ?? resourceId,
    region: 'us-east-1',
    tags: options.tags ?? { env: 'test' },
    properties: { size: 'small' },
    securityControls: [{ name: 'disk-encryption', status: 'enabled' }],
    network: {
      networkId: 'vpc-1',
      subnetId: 'subnet-1',
      privateIps: ['10.0.0.5'],
      publicIps: options.exposed === true ? ['203.0.113.5'] : [],
      securityGroups: [{ id: 'sg-1', name: 'web', rules: [{ direction: 'inbound', action: 'allow', protocol: 'tcp', ports: '443', cidr: '0.0.0.0/0' }] }],
    },
  };
}

/** Replaces an account's assets through the service. */
export async function putAssets(h: Harness, accountId: string, assets: AssetInput[]) {
  return h.ctx.assets.replace(CLI_ACTOR, { all: true }, accountId, assets);
}
