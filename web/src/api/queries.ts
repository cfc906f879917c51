import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, call } from './client';

/**
 * Every cloud account the user may see, for pickers and to show grant names (a few hundred
 * at most in practice; read page by page, bounded).
 */
export function useCloudAccounts(enabled = true) {
  return useQuery({
    queryKey: ['cloud-accounts', 'all'],
    enabled,
    queryFn: async () => {
      const items = [];
      let cursor: string | undefined;
      for (let page = 0; page < 50; page++) {
        const result = await call(api.GET('/api/v1/cloud-accounts', { params: { query: { limit: 200, cursor } } }));
        items.push(...result.items);
        if (result.nextCursor === null) break;
        cursor = result.nextCursor;
      }
      return items;
    },
  });
}

/** id → display name of the visible cloud accounts. */
export function useAccountNames(enabled = true): ReadonlyMap<string, string> {
  const { data } = useCloudAccounts(enabled);
  return useMemo(() => new Map((data ?? []).map((a) => [a.id, a.displayName])), [data]);
}

/** The access key policy (lifetime limits per role), for the key forms; Global Admins only, as the key pages are. */
export function useAccessKeyPolicy() {
  return useQuery({
    queryKey: ['access-key-policy'],
    queryFn: () => call(api.GET('/api/v1/settings/access-key-policy')),
    staleTime: 60_000,
  });
}
