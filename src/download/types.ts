import type { Readable } from 'node:stream';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (the shape of `dns.promises.lookup(host, { all: true })`). */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface DownloadPolicy {
  /** Lower-case host names or IP literals (IPv6 without brackets) exempt from the address rules. */
  allowHosts: readonly string[];
  /** Budget for name resolution, TCP/TLS connect and the response headers, together. */
  connectTimeoutMs: number;
  /** Longest silence tolerated between two body chunks. */
  idleTimeoutMs: number;
  /** File size limit, in bytes. */
  maxBytes: number;
  /** Injectable DNS (tests); defaults to `dns.promises.lookup(host, { all: true })`. */
  lookup?: HostLookup;
}

export interface OpenedDownload {
  /** The response body; errors with a `DownloadError` on idle timeout, oversize or a broken connection. */
  body: Readable;
  contentLength: number | null;
  contentType: string | null;
}
