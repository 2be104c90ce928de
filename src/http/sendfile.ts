// sendfile(2) from the project's own Node-API addon (src/native/sendfile.c, built by `npm ci` through
// binding.gyp, Linux only). Optional like the malloc_trim addon: without it, or with
// EXTREPO_SENDFILE=false, downloads copy the file through reused buffers (http/file-body.ts).
import { loadAddonFunction } from '../native/load-addon.js';

/**
 * Sends up to `count` bytes of the file `fileFd` from `offset` to the socket `socketFd`, off the
 * main thread: resolves to [bytes sent, errno (0: all sent; EAGAIN: the connection is full; -1: the
 * file ended), the file's byte after the sent ones when EAGAIN (else -1)].
 */
export type SendFile = (socketFd: number, fileFd: number, offset: number, count: number) => Promise<[number, number, number]>;

/** The send function, or the reason it is not available. */
export function loadSendfile(): { send: SendFile } | { unavailable: string } {
  if (process.platform !== 'linux') return { unavailable: `sendfile is used on Linux only (this is ${process.platform})` };
  const loaded = loadAddonFunction<SendFile>('sendfile.node', 'send');
  return 'fn' in loaded ? { send: loaded.fn } : loaded;
}
