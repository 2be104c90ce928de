// The pass-through stream around the one-pass zip parser (zip-stream-parser.ts): bytes are passed
// on before they are parsed, so storage writes overlap with validation, and the first rule
// violation fails the pipeline with an ArchiveRejectedError.

import { Transform, type TransformCallback } from 'node:stream';
import { ZipStreamParser, type ArchiveValidatorOptions } from './zip-stream-parser.js';
import type { ArchiveReport } from './types.js';

export type { ArchiveValidatorOptions } from './zip-stream-parser.js';

export interface ArchiveValidator extends Transform {
  /** Set once the stream has finished successfully. */
  readonly report: ArchiveReport | null;
}

class ZipStreamValidator extends Transform implements ArchiveValidator {
  private readonly parser: ZipStreamParser;
  private readonly observe: ((chunk: Buffer) => void) | undefined;
  private finalReport: ArchiveReport | null = null;

  constructor(options: ArchiveValidatorOptions) {
    // Modest buffers: the validator must not add much memory per upload, and larger ones did not
    // make it faster.
    super({ highWaterMark: 256 * 1024 });
    this.parser = new ZipStreamParser(options);
    this.observe = options.observe;
  }

  get report(): ArchiveReport | null {
    return this.finalReport;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let pending: void | Promise<void>;
    try {
      this.observe?.(chunk);
      // Pass the bytes on before parsing them: storage writes overlap with validation, and a
      // rejection destroys the pipeline (and so the partial upload) anyway.
      this.push(chunk);
      pending = this.parser.write(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (pending === undefined) callback();
    else pending.then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.parser.end().then((report) => {
      this.finalReport = report;
      callback();
    }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.parser.destroy();
    callback(error);
  }
}

/**
 * Creates the pass-through validator: `pipeline(source, validator, storage)` stores the bytes
 * unchanged while the validator checks them, failing the pipeline with an ArchiveRejectedError
 * at the first violation. `report` is set once the whole archive was checked.
 */
export function createArchiveValidator(options: ArchiveValidatorOptions): ArchiveValidator {
  return new ZipStreamValidator(options);
}
