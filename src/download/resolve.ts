// Turns the download_url host into the addresses the connection may use, applying the address
// policy. The addresses returned here are the ones the socket connects to (see open-download.ts):
// resolving once and connecting to exactly what was checked is what defeats DNS rebinding.

import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { checkAddress, isAllowedHost, isLocalhostName, normaliseHost } from './address-policy.js';
import { DownloadError } from './errors.js';
import type { DownloadPolicy, HostLookup, ResolvedAddress } from './types.js';

const ALLOW_HINT = 'the operator can allow this host with EXTREPO_DOWNLOAD_ALLOW_HOSTS';

const systemLookup: HostLookup = async (hostname) => {
  // verbatim: keep the resolver's order instead of forcing IPv4 first.
  const results = await dns.lookup(hostname, { all: true, verbatim: true });
  return results.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/**
 * Resolves `hostname` (as in a URL: IPv6 may be bracketed) and refuses it with a
 * `forbidden_address` DownloadError if any address breaks the address policy, unless the host is
 * in `allowHosts`. IP literals are not looked up. Never returns an empty list.
 */
export async function resolveDownloadHost(hostname: string, policy: Pick<DownloadPolicy, 'allowHosts' | 'lookup'>): Promise<ResolvedAddress[]> {
  const host = normaliseHost(hostname);
  const exempt = isAllowedHost(host, policy.allowHosts);

  if (!exempt && isLocalhostName(host)) {
    throw new DownloadError('forbidden_address', `download_url host ${host} is the local machine; downloads from it are refused (${ALLOW_HINT})`);
  }

  const literalFamily = isIP(host);
  if (literalFamily !== 0) {
    if (!exempt) {
      const verdict = checkAddress(host);
      if (!verdict.allowed) {
        throw new DownloadError('forbidden_address', `download_url host ${host} is ${verdict.why}; downloads from it are refused (${ALLOW_HINT})`);
      }
    }
    return [{ address: host, family: literalFamily === 6 ? 6 : 4 }];
  }

  // The name as written (a trailing dot included): "files.example." must not pick up search domains.
  const addresses = await lookupHost(hostname.toLowerCase(), host, policy.lookup ?? systemLookup);
  if (!exempt) {
    // Every address, not just the first: the socket may fall back to any of them.
    for (const { address } of addresses) {
      const verdict = checkAddress(address);
      if (!verdict.allowed) {
        throw new DownloadError(
          'forbidden_address',
          `download_url host ${host} resolves to ${address}, which is ${verdict.why}; downloads from it are refused (${ALLOW_HINT})`,
        );
      }
    }
  }
  return addresses;
}

async function lookupHost(name: string, host: string, lookup: HostLookup): Promise<ResolvedAddress[]> {
  let results: ResolvedAddress[];
  try {
    results = await lookup(name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    const detail = code === 'ENOTFOUND' ? 'no such host' : (code ?? 'lookup failed');
    throw new DownloadError('dns', `download_url host ${host} could not be resolved (${detail})`, { cause: error });
  }
  // The resolver's answer is used verbatim as a socket address, so anything that is not a plain
  // IP literal (or a family that does not match it) is a resolver fault, not something to "fix".
  const addresses = results.filter(({ address, family }) => isIP(address) === family);
  if (addresses.length === 0 || addresses.length !== results.length) {
    throw new DownloadError('dns', `download_url host ${host} could not be resolved (no usable address)`);
  }
  return addresses;
}
