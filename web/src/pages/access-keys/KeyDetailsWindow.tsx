/**
 * The access key details window: shows the name and the JSON web token once, with copy
 * buttons; it cannot be closed (✕, Escape, a click outside) until the user says both are saved.
 */
import { useEffect, useState } from 'react';
import { useBlocker } from 'react-router';
import type { NewAccessKey, RolledAccessKey } from '../../api/types';
import { formatDateTime } from '../../lib/format';
import { CopyButton } from '../../components/CopyButton';
import { Banner, Button, Checkbox, Window } from '../../components/ui';

/** Shown once a key is added, and once it is rolled (`rolled`): the same window, the same promise. */
export function KeyDetailsWindow({ accessKey, rolled = false, onClose }: { accessKey: NewAccessKey | RolledAccessKey; rolled?: boolean; onClose: () => void }) {
  const [saved, setSaved] = useState(false);

  // Leaving the page would lose the token as surely as closing the window.
  useEffect(() => {
    if (saved) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [saved]);
  // So would the browser's Back button or any link inside the console: hold it and ask.
  const leaving = useBlocker(!saved);

  return (
    <Window title="Access Key" isOpen onOpenChange={(open) => !open && saved && onClose()} dismissable={saved} closeDisabled={!saved} size="lg">
      <div className="dialog-body">
        <p className="lead">
          The access key <strong>{accessKey.name}</strong> has been {rolled ? 'rolled: it has a new JSON web token' : 'added'}. Copy its name and its JSON web token to a
          safe location now: the token will not be shown again, and Tessera cannot retrieve it later. Without the token, the key is useless. Applications send only the
          token, as <code>Authorization: Bearer &lt;token&gt;</code>.
        </p>
        {rolled && (
          <p data-testid="previous-token-note">
            {accessKey.previousTokenExpiresAt === null
              ? 'The previous token no longer works.'
              : `The previous token keeps working until ${formatDateTime(accessKey.previousTokenExpiresAt)}: replace it everywhere before then.`}
          </p>
        )}
        <dl className="secret-rows">
          <div className="secret-row">
            <dt>Access Key Name</dt>
            <dd>
              <span className="secret-value" data-testid="new-key-name">
                {accessKey.name}
              </span>
            </dd>
            <CopyButton value={accessKey.name} label="Copy access key name" />
          </div>
          <div className="secret-row">
            <dt>JSON Web Token</dt>
            <dd>
              <code className="secret-value token" data-testid="new-key-token">
                {accessKey.token}
              </code>
            </dd>
            <CopyButton value={accessKey.token} label="Copy JSON web token" />
          </div>
        </dl>
        {leaving.state === 'blocked' && (
          <Banner>
            <p>Leaving this page now loses the JSON web token for good: it will not be shown again.</p>
            <div className="banner-actions">
              <Button variant="primary" onPress={() => leaving.reset()} autoFocus>
                Stay on this page
              </Button>
              <Button variant="danger" onPress={() => leaving.proceed()}>
                Leave without the token
              </Button>
            </div>
          </Banner>
        )}
        <Checkbox
          isSelected={saved}
          onChange={(ticked) => {
            setSaved(ticked);
            // With the token saved the question is moot; the user stays and may now leave freely.
            if (ticked && leaving.state === 'blocked') leaving.reset();
          }}
        >
          I have saved the access key name and JSON web token
        </Checkbox>
      </div>
      <footer className="dialog-footer">
        {!saved && <span className="footer-hint">Tick the box above to close this window.</span>}
        <Button variant="primary" isDisabled={!saved} onPress={onClose}>
          Close
        </Button>
      </footer>
    </Window>
  );
}
