// Signed, expiring, unauthenticated download links for file_metadata.url. Elastic hands out presigned
// object-store URLs there, and Terraform's acceptance tests fetch them with a plain http.Get, so the
// link must work without credentials; the HMAC binds it to one extension, one exact content and one
// expiry time.
import { createHmac } from 'node:crypto';
import { isIssuedSignature } from '../signature-text.js';

export const FILE_LINK_PREFIX = '/extension-files';

export interface FileLinkSigner {
  /** Path and query (no origin) of a link valid until at least now + ttl. */
  sign(extensionId: string, sha256: string, now: Date): string;
  verify(extensionId: string, sha256: string, expires: string, signature: string, now: Date): LinkCheck;
  /**
   * Path and query of a link to one file version's bytes (GET …/versions/{n}). It is signed over
   * its own message, so it works while that version is kept, even after the file was replaced, and
   * a file_metadata link never becomes a version link or the other way round.
   */
  signVersion(extensionId: string, version: number, sha256: string, now: Date): string;
  verifyVersion(extensionId: string, version: number, sha256: string, expires: string, signature: string, now: Date): LinkCheck;
}

export type LinkCheck = { ok: true } | { ok: false; why: 'expired' | 'bad_signature' };

/**
 * Expiry is rounded up to a step so repeated GETs of one extension return the same URL (and the
 * links can be cached): a sixtieth of the TTL, between 1 s and 60 s. A link therefore lives at
 * least the TTL and less than TTL + TTL/60 (at most one minute more); a TTL under two minutes is exact.
 */
export function expiryStepSeconds(ttlSeconds: number): number {
  return Math.min(60, Math.max(1, Math.floor(ttlSeconds / 60)));
}
const LINK_CACHE_MAX = 200_000;

export function createFileLinkSigner(secret: string, ttlSeconds: number): FileLinkSigner {
  const step = expiryStepSeconds(ttlSeconds);
  const mac = (extensionId: string, sha256: string, expires: string): Buffer =>
    createHmac('sha256', secret).update(`${extensionId}\n${sha256}\n${expires}`).digest();
  // Five lines with a leading tag, so it can never equal the three-line message above.
  const versionMac = (extensionId: string, version: number, sha256: string, expires: string): Buffer =>
    createHmac('sha256', secret).update(`file-version\n${extensionId}\n${version}\n${sha256}\n${expires}`).digest();
  const expiryOf = (now: Date): string => {
    const earliest = Math.floor(now.getTime() / 1000) + ttlSeconds;
    return String(Math.ceil(earliest / step) * step);
  };
  const check = (mac: Buffer, expires: string, signature: string, now: Date): LinkCheck => {
    if (!isIssuedSignature(signature, mac.toString('base64url'))) return { ok: false, why: 'bad_signature' };
    if (Number(expires) * 1000 < now.getTime()) return { ok: false, why: 'expired' };
    return { ok: true };
  };

  // Every GET and list renders links, and within one expiry step a link does not change: remember
  // the current step's links instead of computing an HMAC per extension per response.
  let cachedStep = '';
  const cached = new Map<string, string>();

  return {
    sign(extensionId, sha256, now) {
      const expires = expiryOf(now);
      if (expires !== cachedStep || cached.size >= LINK_CACHE_MAX) {
        cachedStep = expires;
        cached.clear();
      }
      const key = `${extensionId}/${sha256}`;
      let link = cached.get(key);
      if (link === undefined) {
        const signature = mac(extensionId, sha256, expires).toString('base64url');
        link = `${FILE_LINK_PREFIX}/${encodeURIComponent(extensionId)}/${sha256}.zip?expires=${expires}&signature=${signature}`;
        cached.set(key, link);
      }
      return link;
    },
    verify(extensionId, sha256, expires, signature, now) {
      if (!/^\d{1,12}$/.test(expires)) return { ok: false, why: 'bad_signature' };
      return check(mac(extensionId, sha256, expires), expires, signature, now);
    },
    signVersion(extensionId, version, sha256, now) {
      // Version lists are read rarely, so these links are not cached.
      const expires = expiryOf(now);
      const signature = versionMac(extensionId, version, sha256, expires).toString('base64url');
      return `${FILE_LINK_PREFIX}/${encodeURIComponent(extensionId)}/versions/${version}/${sha256}.zip?expires=${expires}&signature=${signature}`;
    },
    verifyVersion(extensionId, version, sha256, expires, signature, now) {
      if (!/^\d{1,12}$/.test(expires)) return { ok: false, why: 'bad_signature' };
      return check(versionMac(extensionId, version, sha256, expires), expires, signature, now);
    },
  };
}

/** Removes the signature from a URL before it is logged: a logged link must not be usable. */
export function redactSignature(url: string): string {
  return url.replace(/([?&]signature=)[^&]*/g, '$1[redacted]');
}
