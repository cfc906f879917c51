/** Keys expiring within a week: the banner above the API Access Keys list, and the dashboard's count. */
import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { Banner, Button } from '../../components/ui';
import { formatDateTime } from '../../lib/format';

/** The banner's window, and the list filter its button applies. */
export const SOON_DAYS = 7;
/** The Status filter's id for "expiring within SOON_DAYS days"; also accepted as `?status=` in the page's URL. */
export const EXPIRING_SOON_FILTER = `expiring-${SOON_DAYS}`;

export function useKeysExpiringSoon(enabled = true) {
  return useQuery({
    queryKey: ['access-keys', 'expiring-soon', SOON_DAYS],
    queryFn: () => call(api.GET('/api/v1/access-keys/expiring-soon', { params: { query: { withinDays: SOON_DAYS } } })),
    enabled,
  });
}

/** How many keys, as the banner and the dashboard say it ("1,000+" past the server's cap). */
export function countText(count: number, capped: boolean): string {
  return `${count.toLocaleString('en-GB')}${capped ? '+' : ''}`;
}

export function ExpiringSoonBanner({ filtered, onShow }: { filtered: boolean; onShow: () => void }) {
  const soon = useKeysExpiringSoon();
  const data = soon.data;
  if (data === undefined || data.count === 0) return null;
  const names = data.soonest.map((key) => `“${key.name}” (${formatDateTime(key.expiresAt)})`).join(', ');
  const more = data.count > data.soonest.length ? ` and ${countText(data.count - data.soonest.length, data.capped)} more` : '';
  return (
    <Banner tone="info">
      <span>
        <strong>
          {countText(data.count, data.capped)} access key{data.count === 1 ? '' : 's'} expire{data.count === 1 ? 's' : ''} within {SOON_DAYS} days:
        </strong>{' '}
        {names}
        {more}.
      </span>
      {!filtered && (
        <Button variant="quiet" onPress={onShow}>
          Show keys expiring within {SOON_DAYS} days
        </Button>
      )}
    </Banner>
  );
}
