// Parsing download_url into what the request needs, and quoting URLs without their credentials.

import { DownloadError } from './errors.js';

export interface DownloadTarget {
  url: URL;
  secure: boolean;
  /** As in the URL: lower case, IPv6 in brackets. Used in messages. */
  hostname: string;
  port: number;
  /** `Basic …` from the URL's user info, or null when the URL has none. */
  authorization: string | null;
}

export function parseDownloadUrl(raw: string): DownloadTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The input is not echoed: it may hold credentials that cannot be located in a non-URL.
    throw new DownloadError('invalid_url', 'download_url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DownloadError('invalid_url', `download_url must use http or https, got ${url.protocol}`);
  }
  if (url.hostname === '') throw new DownloadError('invalid_url', 'download_url has no host');
  const secure = url.protocol === 'https:';
  return {
    url,
    secure,
    hostname: url.hostname,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    authorization: basicAuthorization(url),
  };
}

// Elastic accepts https://user:pass@host/x.zip and sends the pair as HTTP Basic credentials.
function basicAuthorization(url: URL): string | null {
  if (url.username === '' && url.password === '') return null;
  let pair: string;
  try {
    // The URL keeps user info percent-encoded; the header carries the decoded text.
    pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  } catch {
    throw new DownloadError('invalid_url', 'download_url has badly percent-encoded credentials');
  }
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

/** `url` as text with any `user:pass@` removed, for messages and logs. */
export function redactUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}
