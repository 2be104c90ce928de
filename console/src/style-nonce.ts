// The Content-Security-Policy allows <style> elements only with this response's nonce (no
// 'unsafe-inline'), so every library that injects one must be given it: Emotion's caches for EUI
// (created in app.tsx), EUI's internal @emotion/css instance, @emotion/css's default instance (EUI's
// flyout overlay uses it), and react-focus-on's style singleton (get-nonce). The server writes the
// nonce into <meta name="csp-nonce"> of index.html; test/console-browser.test.ts fails on any
// style the policy blocks.
import { cache as euiInternalCssCache } from '@elastic/eui/es/services/emotion/css';
import { cache as emotionCssCache } from '@emotion/css';
import { setNonce } from 'get-nonce';

let nonce: string | undefined;

export function styleNonce(): string | undefined {
  return nonce;
}

export function applyStyleNonce(): void {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]');
  const value = meta?.content;
  // A placeholder left as is: the page was not served by extrepo (Vite's dev server), no CSP applies.
  if (!value || value.startsWith('__')) return;
  nonce = value;
  setNonce(value);
  // These instances are created by the libraries and offer no option for it; a sheet reads `nonce` each time
  // it creates a <style> element (@emotion/sheet), so setting it before the first render suffices.
  for (const cache of [euiInternalCssCache, emotionCssCache]) (cache.sheet as unknown as { nonce?: string }).nonce = value;
  // The nonce attribute is hidden from scripts once applied; drop the copy in the DOM too.
  meta?.remove();
}
