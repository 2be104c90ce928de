// The console's shell: EUI's provider (with Emotion caches that carry the CSP nonce), the router,
// the header, and the pages. Pages a role may not use are not routed for it at all.
import createCache from '@emotion/cache';
import { EuiLoadingSpinner, EuiProvider } from '@elastic/eui';
import { lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import type { ApiClient } from './api/client';
import { ExtensionsPage, prefetchFirstPage } from './extensions/list-page';
import { Layout } from './layout/layout';
import { NotFoundPage } from './layout/not-found-page';
import { SessionProvider, useSession } from './session/session';
import { SignInPage } from './session/sign-in-page';
import { styleNonce } from './style-nonce';

// The first page (sign-in, then the extensions table) is in the entry chunk; every other page is
// loaded when first visited, so the first load carries only what it shows.
const ExtensionCreatePage = lazy(() => import('./extensions/create-page').then((m) => ({ default: m.ExtensionCreatePage })));
const ExtensionDetailsPage = lazy(() => import('./extensions/details-page').then((m) => ({ default: m.ExtensionDetailsPage })));
const ExtensionEditPage = lazy(() => import('./extensions/edit-page').then((m) => ({ default: m.ExtensionEditPage })));
const ApiKeysPage = lazy(() => import('./keys/api-keys-page').then((m) => ({ default: m.ApiKeysPage })));
const UsersPage = lazy(() => import('./users/users-page').then((m) => ({ default: m.UsersPage })));
const AuditPage = lazy(() => import('./audit/audit-page').then((m) => ({ default: m.AuditPage })));

// Module-level, so that SessionProvider sees the same function at every render.
const prefetchOnRestore = (api: ApiClient) => prefetchFirstPage(api, window.location);

function emotionCaches() {
  const nonce = styleNonce();
  const make = (key: string) => createCache({ key, ...(nonce ? { nonce } : {}) });
  return { default: make('eui'), global: make('euiglobal'), utility: make('euiutil') };
}

function RequireSession({ children }: { children: JSX.Element }) {
  const { session, restoring } = useSession();
  const location = useLocation();
  if (restoring) return <></>;
  if (session === null) return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  return children;
}

function AdminOnly({ children }: { children: JSX.Element }) {
  const { abilities } = useSession();
  return abilities.administer ? children : <NotFoundPage />;
}

function WritersOnly({ children }: { children: JSX.Element }) {
  const { abilities } = useSession();
  return abilities.writeExtensions ? children : <NotFoundPage />;
}

function AppRoutes() {
  return (
    <Suspense fallback={<EuiLoadingSpinner size="xl" />}>
      <Routes>
        <Route path="/sign-in" element={<SignInPage />} />
        <Route
          element={
            <RequireSession>
              <Layout />
            </RequireSession>
          }
        >
          <Route path="/" element={<Navigate to="/extensions" replace />} />
          <Route path="/extensions" element={<ExtensionsPage />} />
          <Route
            path="/extensions/new"
            element={
              <WritersOnly>
                <ExtensionCreatePage />
              </WritersOnly>
            }
          />
          <Route path="/extensions/:id" element={<ExtensionDetailsPage />} />
          <Route
            path="/extensions/:id/edit"
            element={
              <WritersOnly>
                <ExtensionEditPage />
              </WritersOnly>
            }
          />
          <Route path="/api-keys" element={<ApiKeysPage />} />
          <Route
            path="/admin/users"
            element={
              <AdminOnly>
                <UsersPage />
              </AdminOnly>
            }
          />
          <Route
            path="/admin/audit"
            element={
              <AdminOnly>
                <AuditPage />
              </AdminOnly>
            }
          />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Routes>
    </Suspense>
  );
}

export function startApp(container: HTMLElement): void {
  createRoot(container).render(
    <StrictMode>
      <EuiProvider colorMode="light" cache={emotionCaches()}>
        <BrowserRouter>
          <SessionProvider onRestore={prefetchOnRestore}>
            <AppRoutes />
          </SessionProvider>
        </BrowserRouter>
      </EuiProvider>
    </StrictMode>,
  );
}
