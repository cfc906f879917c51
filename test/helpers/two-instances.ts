import { afterAll, beforeAll } from 'vitest';
import { startCluster, type Cluster, type Instance } from './instances.ts';

/** Two real instances on one PostgreSQL schema, shared by the tests of one describe. */
export interface TwoInstances {
  cluster: Cluster;
  a: Instance;
  b: Instance;
  /** The token of a Global Admin key made by the CLI. */
  admin: string;
}

/**
 * Called in a describe: starts two instances (`startCluster(2)`) and makes a Global Admin key
 * named `adminName` with the CLI before its tests, and stops them after. The fields are set
 * once its `beforeAll` has run, so tests read them as `two.a`, not by destructuring.
 */
export function useTwoInstances(adminName: string): TwoInstances {
  const two = {} as TwoInstances;
  beforeAll(async () => {
    two.cluster = await startCluster(2);
    [two.a, two.b] = two.cluster.instances as [Instance, Instance];
    two.admin = JSON.parse(await two.cluster.cli(['keys', 'create', '--name', adminName, '--role', 'global-admin', '--json'])).token;
  }, 120_000);
  afterAll(() => two.cluster?.close());
  return two;
}
