// Sign in with a user name and password (POST /users/auth/_login) or with an API key. Each refusal
// the server can give gets its own words: wrong password, throttled (with the time to retry), a
// disabled user (the server's message names it).
import {
  EuiButton,
  EuiCallOut,
  EuiFieldPassword,
  EuiFieldText,
  EuiForm,
  EuiFormRow,
  EuiPageTemplate,
  EuiPanel,
  EuiSpacer,
  EuiTab,
  EuiTabs,
  EuiTitle,
} from '@elastic/eui';
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { ApiFailure } from '../api/client';
import { useSession } from './session';

type Method = 'password' | 'apiKey';

export function describeSignInFailure(error: unknown, method: Method): string {
  if (!(error instanceof ApiFailure)) return 'The server could not be reached. Check that extrepo is running and try again.';
  if (error.status === 429) {
    const seconds = error.retryAfterSeconds ?? 60;
    const at = new Date(Date.now() + seconds * 1000).toLocaleTimeString();
    return `Too many failed sign-ins. You can try again at ${at} (in ${seconds} s).`;
  }
  if (error.status === 401) {
    if (/disabled/.test(error.message)) return error.message;
    return method === 'password' ? 'The user name or password is not valid.' : 'This API key is not valid: it may have expired or been revoked.';
  }
  return error.message;
}

export function SignInPage() {
  const { session, signInWithPassword, signInWithApiKey } = useSession();
  const location = useLocation();
  const [method, setMethod] = useState<Method>('password');
  const [userName, setUserName] = useState('');
  const [password, setPassword] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  const from = (location.state as { from?: string } | null)?.from ?? '/extensions';
  if (session !== null) return <Navigate to={from} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      if (method === 'password') await signInWithPassword(userName, password);
      else await signInWithApiKey(apiKey);
    } catch (error) {
      setFailure(describeSignInFailure(error, method));
      setBusy(false);
    }
  }

  const ready = method === 'password' ? userName !== '' && password !== '' : apiKey.trim() !== '';
  return (
    <EuiPageTemplate panelled={false} grow>
      <EuiPageTemplate.Section alignment="center">
        <EuiPanel paddingSize="l" style={{ width: 420 }}>
          <EuiTitle size="m">
            <h1>Sign in to extrepo</h1>
          </EuiTitle>
          <EuiSpacer size="m" />
          <EuiTabs size="s">
            <EuiTab isSelected={method === 'password'} onClick={() => setMethod('password')}>
              User name and password
            </EuiTab>
            <EuiTab isSelected={method === 'apiKey'} onClick={() => setMethod('apiKey')}>
              API key
            </EuiTab>
          </EuiTabs>
          <EuiSpacer size="m" />
          <EuiForm component="form" onSubmit={submit}>
            {method === 'password' ? (
              <>
                <EuiFormRow label="User name">
                  <EuiFieldText
                    name="username"
                    autoComplete="username"
                    value={userName}
                    onChange={(event) => setUserName(event.target.value)}
                    autoFocus
                  />
                </EuiFormRow>
                <EuiFormRow label="Password">
                  <EuiFieldPassword
                    name="password"
                    type="dual"
                    autoComplete="current-password"
                    value={password}
                    onChange={(event) => setPassword(event.target.value)}
                  />
                </EuiFormRow>
              </>
            ) : (
              <EuiFormRow label="API key" helpText="A key from API keys, or from POST /api/v1/users/auth/keys.">
                <EuiFieldPassword name="apiKey" type="dual" autoComplete="off" value={apiKey} onChange={(event) => setApiKey(event.target.value)} />
              </EuiFormRow>
            )}
            <EuiSpacer size="m" />
            <EuiButton type="submit" fill fullWidth isLoading={busy} isDisabled={!ready}>
              Sign in
            </EuiButton>
          </EuiForm>
          {failure !== null && (
            <>
              <EuiSpacer size="m" />
              <EuiCallOut title="Not signed in" color="danger" iconType="error" role="alert">
                <p data-test-subj="signInFailure">{failure}</p>
              </EuiCallOut>
            </>
          )}
        </EuiPanel>
      </EuiPageTemplate.Section>
    </EuiPageTemplate>
  );
}
