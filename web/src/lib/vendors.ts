import type { Asset, CloudAccount } from '../api/types';

export const VENDOR_TITLES: Record<CloudAccount['vendor'], string> = { aws: 'AWS', azure: 'Azure', gcp: 'Google Cloud' };
export const VENDORS = Object.keys(VENDOR_TITLES) as CloudAccount['vendor'][];
export const ACCOUNT_ID_LABELS: Record<CloudAccount['vendor'], string> = { aws: 'AWS account ID', azure: 'Subscription ID', gcp: 'Project ID' };
export const STATUS_TITLES: Record<CloudAccount['status'], string> = {
  connected: 'Connected',
  'connected-with-warnings': 'Connected with warnings',
  error: 'Not connected due to errors',
};
export const EXPOSURE_TITLES: Record<Asset['exposure'], string> = { 'internet-exposed': 'Internet exposed', 'no-internet': 'Not exposed' };
export const ASSET_TYPE_TITLES: Record<Asset['type'], string> = {
  'virtual-machine': 'Virtual machine',
  'container-cluster': 'Container cluster',
  database: 'Database',
  'storage-bucket': 'Storage bucket',
  'load-balancer': 'Load balancer',
  'serverless-function': 'Serverless function',
  'virtual-network': 'Virtual network',
  'security-group': 'Security group',
};
/** The choices of a list's Vendor filter. */
export const VENDOR_FILTERS = [{ id: 'any', label: 'Any vendor' }, ...VENDORS.map((v) => ({ id: v, label: VENDOR_TITLES[v] }))];
