// Every signed-in page: a header with the sections this role may use, who is signed in with which
// role, and sign-out; the page itself below it.
import {
  EuiBadge,
  EuiButtonEmpty,
  EuiHeader,
  EuiHeaderLink,
  EuiHeaderLinks,
  EuiHeaderLogo,
  EuiHeaderSection,
  EuiHeaderSectionItem,
  EuiText,
} from '@elastic/eui';
import type { MouseEvent } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router-dom';
import { useSignedIn } from '../session/session';

export function Layout() {
  const { session, abilities, signOut } = useSignedIn();
  const navigate = useNavigate();
  const location = useLocation();
  const link = (path: string, label: string) => (
    <EuiHeaderLink
      href={path}
      isActive={location.pathname.startsWith(path)}
      onClick={(event: MouseEvent) => {
        event.preventDefault();
        navigate(path);
      }}
    >
      {label}
    </EuiHeaderLink>
  );
  return (
    <>
      <EuiHeader position="fixed">
        <EuiHeaderSection>
          <EuiHeaderSectionItem>
            <EuiHeaderLogo
              iconTitle="extrepo"
              href="/extensions"
              onClick={(event: MouseEvent) => {
                event.preventDefault();
                navigate('/extensions');
              }}
            />
          </EuiHeaderSectionItem>
          <EuiHeaderSectionItem>
            <EuiText size="s">
              <strong>extrepo</strong>
            </EuiText>
          </EuiHeaderSectionItem>
          <EuiHeaderSectionItem>
            <EuiHeaderLinks aria-label="Sections">
              {link('/extensions', 'Extensions')}
              {link('/api-keys', 'API keys')}
              {abilities.administer && link('/admin/users', 'Users')}
              {abilities.administer && link('/admin/audit', 'Audit trail')}
            </EuiHeaderLinks>
          </EuiHeaderSectionItem>
        </EuiHeaderSection>
        <EuiHeaderSection side="right">
          <EuiHeaderSectionItem>
            <EuiText size="s" data-test-subj="signedInUser">
              <span>{session.info.user_name}</span>{' '}
              {session.info.roles.map((role) => (
                <EuiBadge key={role} color="hollow">
                  {role}
                </EuiBadge>
              ))}
            </EuiText>
          </EuiHeaderSectionItem>
          <EuiHeaderSectionItem>
            <EuiButtonEmpty iconType="logOut" size="s" onClick={() => void signOut().then(() => navigate('/sign-in'))}>
              Sign out
            </EuiButtonEmpty>
          </EuiHeaderSectionItem>
        </EuiHeaderSection>
      </EuiHeader>
      <main>
        <Outlet />
      </main>
    </>
  );
}
