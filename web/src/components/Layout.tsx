import { useEffect, useState, type ReactNode } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { Button as AriaButton, Menu, MenuItem, MenuTrigger, Popover } from 'react-aria-components';
import { useSession } from '../auth/session';
import type { Permission } from '../lib/roles';
import { ChangePassword } from './ChangePassword';
import { useDocumentTitle } from '../lib/title';
import { Icon } from './ui';

export interface MenuEntry {
  to: string;
  label: string;
  permission: Permission;
}

/** The main menu. Entries whose permission the user's roles do not give are not shown. */
export const MENU: { section?: string; entries: MenuEntry[] }[] = [
  {
    entries: [
      { to: '/dashboard', label: 'Dashboard', permission: 'reports:read' },
      { to: '/cloud-accounts', label: 'Cloud Accounts', permission: 'cloud-accounts:read' },
      { to: '/credentials', label: 'Credentials', permission: 'credentials:read' },
      { to: '/assets', label: 'Assets', permission: 'assets:read' },
      { to: '/cves', label: 'CVEs', permission: 'assets:read' },
      { to: '/policy', label: 'Policy', permission: 'policy:read' },
      { to: '/reports', label: 'Reports', permission: 'reports:read' },
    ],
  },
  {
    section: 'Configuration',
    entries: [
      { to: '/configuration/api-access-keys', label: 'API Access Keys', permission: 'access-keys:manage' },
      { to: '/configuration/webhooks', label: 'Webhooks', permission: 'webhooks:manage' },
      { to: '/configuration/users', label: 'Users', permission: 'users:manage' },
      { to: '/configuration/audit', label: 'Audit', permission: 'audit:read' },
    ],
  },
];

/** The first page the signed-in user may open. */
export function useHomePath(): string {
  const { may } = useSession();
  for (const group of MENU) for (const entry of group.entries) if (may(entry.permission)) return entry.to;
  return '/api-homepage';
}

export function Layout() {
  const { user, may, signOut } = useSession();
  const [menuOpen, setMenuOpen] = useState(false);
  const [changing, setChanging] = useState(false);
  const location = useLocation();
  // biome-ignore lint/correctness/useExhaustiveDependencies: following a menu link closes the menu.
  useEffect(() => setMenuOpen(false), [location.pathname]);
  // On a narrow screen the menu slides over the page: Escape closes it, as it would a popover.
  useEffect(() => {
    if (!menuOpen) return;
    const close = (event: KeyboardEvent) => event.key === 'Escape' && setMenuOpen(false);
    window.addEventListener('keydown', close);
    return () => window.removeEventListener('keydown', close);
  }, [menuOpen]);

  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <AriaButton className="icon-btn menu-toggle" aria-label="Main menu" aria-expanded={menuOpen} aria-controls="main-menu" onPress={() => setMenuOpen((v) => !v)}>
          <Icon name="menu" />
        </AriaButton>
        <span className="brand">
          <img src="/favicon.svg" alt="" width="24" height="24" /> Tessera
        </span>
        <span className="spacer" />
        <MenuTrigger>
          {/* Its name is what it shows (WCAG 2.5.3); the menu it opens starts with the email. */}
          <AriaButton className="btn btn-quiet whoami">{user?.displayName || user?.email}</AriaButton>
          <Popover className="popover" placement="bottom end">
            <Menu className="menu" onAction={(k) => k === 'password' && setChanging(true)}>
              <MenuItem id="email" className="menu-item" isDisabled textValue={user?.email}>
                <span className="muted">{user?.email}</span>
              </MenuItem>
              <MenuItem id="password" className="menu-item">
                Change password
              </MenuItem>
            </Menu>
          </Popover>
        </MenuTrigger>
        <AriaButton className="btn btn-quiet sign-out" onPress={() => void signOut()}>
          <Icon name="out" /> <span className="sign-out-label">Sign out</span>
        </AriaButton>
      </header>
      <nav id="main-menu" aria-label="Main menu" className={`sidebar${menuOpen ? ' open' : ''}`}>
        {MENU.map((group, i) => {
          const visible = group.entries.filter((e) => may(e.permission));
          if (visible.length === 0) return null;
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: MENU is a constant, so a group's index never changes.
            <div key={i} className="menu-group">
              {group.section !== undefined && (
                <div className="menu-section" id={`menu-${i}`}>
                  {group.section}
                </div>
              )}
              <ul aria-labelledby={group.section !== undefined ? `menu-${i}` : undefined}>
                {visible.map((entry) => (
                  <li key={entry.to}>
                    <NavLink to={entry.to} className={({ isActive }) => `menu-link${isActive ? ' active' : ''}`}>
                      {entry.label}
                    </NavLink>
                  </li>
                ))}
              </ul>
            </div>
          );
        })}
        <div className="menu-group">
          <ul>
            <li>
              <a className="menu-link" href="/docs" target="_blank" rel="noopener">
                API homepage <span aria-hidden="true">↗</span>
              </a>
            </li>
          </ul>
        </div>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {user?.passwordGenerated === true && (
          <div className="banner banner-info" role="status" data-testid="generated-password-prompt">
            <span>You are signed in with a password Tessera generated and printed once. Choose your own now, one only you know.</span>
            <AriaButton className="btn btn-primary" onPress={() => setChanging(true)}>
              Change password
            </AriaButton>
          </div>
        )}
        <Outlet />
      </main>
      {changing && <ChangePassword onClose={() => setChanging(false)} />}
    </div>
  );
}

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  useDocumentTitle(title);
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {description !== undefined && <p className="page-description">{description}</p>}
      </div>
      {actions !== undefined && <div className="page-actions">{actions}</div>}
    </div>
  );
}
