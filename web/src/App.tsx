import type { ReactNode } from 'react';
import { Navigate, Route, Routes, useHref, useLocation, useNavigate } from 'react-router';
import { RouterProvider } from 'react-aria-components';
import { useSession } from './auth/session';
import { Layout, PageHeader, useHomePath } from './components/Layout';
import type { Permission } from './lib/roles';
import { AcceptInvitation } from './pages/AcceptInvitation';
import { AccessKeyPage } from './pages/access-keys/AccessKeyPage';
import { AccessKeysPage } from './pages/access-keys/AccessKeysPage';
import { AuditPage } from './pages/AuditPage';
import { AssetsPage } from './pages/AssetsPage';
import { CloudAccountsPage } from './pages/CloudAccountsPage';
import { DashboardPage } from './pages/DashboardPage';
import { PolicyPage } from './pages/PolicyPage';
import { SignIn } from './pages/SignIn';
import { UsersPage } from './pages/UsersPage';
import { WebhooksPage } from './pages/WebhooksPage';
import { CredentialsPage } from './pages/inventory/CredentialsPage';
import { CvesPage } from './pages/inventory/CvesPage';
import { ReportsPage } from './pages/inventory/ReportsPage';

function Loading() {
  return (
    <div className="loading-page" role="status">
      Loading…
    </div>
  );
}

function SignedIn({ children }: { children: ReactNode }) {
  const { state } = useSession();
  const location = useLocation();
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'signed-out') return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  return children;
}

function SignInRoute() {
  const { state } = useSession();
  const location = useLocation();
  const home = useHomePath();
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'signed-in') {
    const from = (location.state as { from?: string } | null)?.from;
    return <Navigate to={from && from !== '/' ? from : home} replace />;
  }
  return <SignIn />;
}

/** A page the user's roles may not open: said plainly (the menu does not offer it). */
function Allowed({ permission, children }: { permission: Permission; children: ReactNode }) {
  const { may } = useSession();
  if (may(permission)) return children;
  return (
    <>
      <PageHeader title="Not available" />
      <p>Your roles do not give access to this page. Ask a Global Admin if you need it.</p>
    </>
  );
}

function Home() {
  return <Navigate to={useHomePath()} replace />;
}

function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <p>There is nothing at this address. Use the main menu to find your way.</p>
    </>
  );
}

export function App() {
  const navigate = useNavigate();
  return (
    <RouterProvider navigate={(to, options) => void navigate(to, options as never)} useHref={useHref}>
      <Routes>
        <Route path="/sign-in" element={<SignInRoute />} />
        <Route path="/invite/:token" element={<AcceptInvitation />} />
        <Route
          element={
            <SignedIn>
              <Layout />
            </SignedIn>
          }
        >
          <Route index element={<Home />} />
          <Route
            path="dashboard"
            element={
              <Allowed permission="reports:read">
                <DashboardPage />
              </Allowed>
            }
          />
          <Route
            path="cloud-accounts"
            element={
              <Allowed permission="cloud-accounts:read">
                <CloudAccountsPage />
              </Allowed>
            }
          />
          <Route
            path="assets"
            element={
              <Allowed permission="assets:read">
                <AssetsPage />
              </Allowed>
            }
          />
          <Route
            path="assets/:id"
            element={
              <Allowed permission="assets:read">
                <AssetsPage />
              </Allowed>
            }
          />
          <Route
            path="credentials"
            element={
              <Allowed permission="credentials:read">
                <CredentialsPage />
              </Allowed>
            }
          />
          <Route
            path="cves"
            element={
              <Allowed permission="assets:read">
                <CvesPage />
              </Allowed>
            }
          />
          <Route
            path="reports"
            element={
              <Allowed permission="reports:read">
                <ReportsPage />
              </Allowed>
            }
          />
          <Route
            path="policy"
            element={
              <Allowed permission="policy:read">
                <PolicyPage />
              </Allowed>
            }
          />
          <Route
            path="configuration/api-access-keys"
            element={
              <Allowed permission="access-keys:manage">
                <AccessKeysPage />
              </Allowed>
            }
          />
          <Route
            path="configuration/webhooks"
            element={
              <Allowed permission="webhooks:manage">
                <WebhooksPage />
              </Allowed>
            }
          />
          <Route
            path="configuration/api-access-keys/:id"
            element={
              <Allowed permission="access-keys:manage">
                <AccessKeyPage />
              </Allowed>
            }
          />
          <Route
            path="configuration/users"
            element={
              <Allowed permission="users:manage">
                <UsersPage />
              </Allowed>
            }
          />
          <Route
            path="configuration/audit"
            element={
              <Allowed permission="audit:read">
                <AuditPage />
              </Allowed>
            }
          />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </RouterProvider>
  );
}
