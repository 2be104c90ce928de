// Fetching a download_url: the public surface of src/download/.
export { openDownload } from './open-download.js';
export { checkAddress } from './address-policy.js';
export type { AddressVerdict } from './address-policy.js';
export { resolveDownloadHost } from './resolve.js';
export { DownloadError } from './errors.js';
export type { DownloadErrorReason } from './errors.js';
export { redactUrl } from './download-url.js';
export type { DownloadPolicy, HostLookup, OpenedDownload, ResolvedAddress } from './types.js';
