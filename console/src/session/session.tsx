// Who is signed in, and with what: the credential lives in sessionStorage (gone when the tab closes,
// never in a cookie the browser would send by itself), a bearer token is refreshed before it expires
// (POST /users/auth/_refresh), and sign-out revokes it on the server (_logout).
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiClient, ApiFailure, type Credential } from '../api/client';
import type { Role, SignedInInfo } from '../api/types';

const STORAGE_KEY = 'extrepo.credential';

export interface Session {
  credential: Credential;
  info: SignedInInfo;
}

export interface Abilities {
  /** Create, update, upload, delete extensions (their own; admins: any). */
  writeExtensions: boolean;
  /** Users, everyone's API keys, the audit trail. */
  administer: boolean;
}

export function abilitiesOf(roles: readonly Role[]): Abilities {
  const admin = roles.includes('ece_platform_admin');
  return { writeExtensions: admin || roles.includes('ece_deployment_manager'), administer: admin };
}

interface SessionContextValue {
  session: Session | null;
  /** True until a stored credential has been checked. */
  restoring: boolean;
  api: ApiClient;
  abilities: Abilities;
  signInWithPassword(userName: string, password: string): Promise<void>;
  signInWithApiKey(key: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionContextValue | null>(null);

function readStored(): Credential | null {
  try {
    const text = sessionStorage.getItem(STORAGE_KEY);
    return text === null ? null : (JSON.parse(text) as Credential);
  } catch {
    return null;
  }
}

function store(credential: Credential | null): void {
  if (credential === null) sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credential));
}

/** When to refresh: a minute before expiry, or at 80 % of what is left if that is shorter. */
function refreshDelayMs(expiresAt: string): number {
  const left = Date.parse(expiresAt) - Date.now();
  return Math.max(1000, left - Math.min(60_000, left / 5));
}

/** How long, after the session check has answered, the first page's own request may still take. */
const FIRST_PAGE_GRACE_MS = 300;

/**
 * `onRestore` runs when a stored credential is about to be checked, with the client that will use
 * it: the app starts the first page's request there, beside the check, and returns a promise that
 * settles once that request has answered.
 */
export function SessionProvider({ children, onRestore }: { children: ReactNode; onRestore?: (api: ApiClient) => Promise<void> | undefined }) {
  const [session, setSession] = useState<Session | null>(null);
  const [restoring, setRestoring] = useState(true);
  const credentialRef = useRef<Credential | null>(readStored());
  const api = useMemo(() => new ApiClient(() => credentialRef.current), []);

  const adopt = useCallback(
    async (credential: Credential, alsoAwait?: Promise<void>) => {
      const info = await api.whoAmI(credential);
      // A slow first page must not hold the whole console back: after the grace, the page shows its
      // loading table and fills it when the answer arrives.
      if (alsoAwait) await Promise.race([alsoAwait, new Promise((resolve) => setTimeout(resolve, FIRST_PAGE_GRACE_MS))]);
      credentialRef.current = credential;
      store(credential);
      setSession({ credential, info });
    },
    [api],
  );

  const drop = useCallback(() => {
    credentialRef.current = null;
    store(null);
    setSession(null);
  }, []);

  useEffect(() => {
    const stored = credentialRef.current;
    if (stored === null) {
      setRestoring(false);
      return;
    }
    // The session is adopted once the first page's own request has answered too, so the page
    // renders with its data in one pass rather than empty first and filled a moment later.
    adopt(stored, onRestore?.(api))
      .catch(() => drop())
      .finally(() => setRestoring(false));
    // Once, at mount: api is made once and onRestore must be a stable function.
  }, [adopt, drop, api, onRestore]);

  // Refresh the bearer token before it expires; a failed refresh ends the session.
  useEffect(() => {
    if (session === null || session.credential.kind !== 'token') return;
    const timer = setTimeout(() => {
      api
        .refresh()
        .then((issued) => {
          const credential: Credential = { kind: 'token', token: issued.token, expiresAt: issued.session_expiration_time };
          credentialRef.current = credential;
          store(credential);
          setSession((current) => (current === null ? null : { ...current, credential }));
        })
        .catch(() => drop());
    }, refreshDelayMs(session.credential.expiresAt));
    return () => clearTimeout(timer);
  }, [api, session, drop]);

  const value = useMemo<SessionContextValue>(
    () => ({
      session,
      restoring,
      api,
      abilities: abilitiesOf(session?.info.roles ?? []),
      async signInWithPassword(userName, password) {
        const issued = await api.login(userName, password);
        await adopt({ kind: 'token', token: issued.token, expiresAt: issued.session_expiration_time });
      },
      async signInWithApiKey(key) {
        await adopt({ kind: 'apiKey', key: key.trim() });
      },
      async signOut() {
        try {
          if (credentialRef.current?.kind === 'token') await api.logout();
        } catch (error) {
          // An already expired or revoked token: the session is over either way.
          if (!(error instanceof ApiFailure)) throw error;
        } finally {
          drop();
        }
      },
    }),
    [session, restoring, api, adopt, drop],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (value === null) throw new Error('useSession outside SessionProvider');
  return value;
}

/** The signed-in session; only for pages behind RequireSession. */
export function useSignedIn(): SessionContextValue & { session: Session } {
  const value = useSession();
  if (value.session === null) throw new Error('useSignedIn without a session');
  return value as SessionContextValue & { session: Session };
}
