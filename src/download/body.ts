// The download's response body as handed to the caller: the bytes of the HTTP response, cut off
// with a DownloadError when the server goes silent or sends more than the size limit.
//
// A plain Readable fed from the response's 'data' events (rather than a Transform in a pipeline)
// keeps the per-chunk cost to a counter, a timer refresh and a push; backpressure is passed on
// by pausing the response when our buffer is full and resuming it when the consumer reads.

import type { ClientRequest, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { DownloadError, formatSeconds } from './errors.js';

// Large enough that a socket's 64 KiB reads do not hit the buffer limit one by one (each hit costs
// a pause/resume round trip), small enough to be harmless per concurrent download.
const HIGH_WATER_MARK = 1024 * 1024;

export interface DownloadBodyOptions {
  maxBytes: number;
  idleTimeoutMs: number;
  /** Host (and port) for messages. */
  where: string;
  signal?: AbortSignal | undefined;
}

export class DownloadBody extends Readable {
  readonly #request: ClientRequest;
  readonly #response: IncomingMessage;
  readonly #maxBytes: number;
  readonly #idleTimeoutMs: number;
  readonly #where: string;
  readonly #signal: AbortSignal | undefined;
  readonly #idleTimer: NodeJS.Timeout;
  #received = 0;
  #ended = false;
  // True while the response is paused because the consumer is not keeping up: silence then is
  // ours, not the server's, so the idle timer must not fire.
  #paused = false;

  constructor(request: ClientRequest, response: IncomingMessage, options: DownloadBodyOptions) {
    super({ highWaterMark: HIGH_WATER_MARK });
    this.#request = request;
    this.#response = response;
    this.#maxBytes = options.maxBytes;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#where = options.where;
    this.#signal = options.signal;
    this.#idleTimer = setTimeout(this.#onIdle, this.#idleTimeoutMs);

    response.on('data', this.#onData);
    response.on('end', this.#onEnd);
    response.on('error', this.#onBroken);
    response.on('close', this.#onClose);
    request.on('error', this.#onBroken);
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (this.#signal?.aborted) this.#onAbort();
  }

  override _read(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#idleTimer.refresh();
    this.#response.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#idleTimer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    // Tearing down the request closes the socket: an unfinished body (too large, stalled,
    // abandoned by the consumer) must not keep a connection open. After a complete body this
    // only closes a connection that would not be reused anyway.
    this.#response.off('data', this.#onData);
    this.#request.destroy();
    callback(error);
  }

  #onData = (chunk: Buffer): void => {
    this.#received += chunk.length;
    if (this.#received > this.#maxBytes) {
      this.destroy(new DownloadError('too_large', `download_url is larger than the limit of ${this.#maxBytes} bytes`));
      return;
    }
    this.#idleTimer.refresh();
    if (!this.push(chunk)) {
      this.#paused = true;
      this.#response.pause();
    }
  };

  #onEnd = (): void => {
    this.#ended = true;
    clearTimeout(this.#idleTimer);
    this.push(null);
  };

  #onIdle = (): void => {
    if (this.#paused || this.#ended) return;
    this.destroy(
      new DownloadError('timeout', `download_url host ${this.#where} sent nothing for ${formatSeconds(this.#idleTimeoutMs)} s; download abandoned`),
    );
  };

  #onBroken = (error: unknown): void => {
    this.destroy(
      new DownloadError('network', `connection to ${this.#where} broke before the download was complete`, {
        cause: error,
      }),
    );
  };

  // A response that closes without 'end' and without an error still lost the rest of the body.
  #onClose = (): void => {
    if (!this.#ended) this.#onBroken(undefined);
  };

  #onAbort = (): void => {
    this.destroy(this.#signal?.reason as Error);
  };
}
