// A zip's outline against the server's rules, read from its central directory: every entry's name,
// type, encryption, method and declared sizes, the archive-wide limits, and (for a plugin) the
// descriptor, which is the only entry whose bytes are read. It costs milliseconds whatever the size
// of the file, so `push` can refuse what the server would refuse before it creates anything, and then
// send the bytes while the server's full validator (CRC-32s, the sizes the data really inflates to)
// checks them on the way (see push.ts).
//
// It is a screen, not the authority: it answers "looks acceptable" or "doubt", and on doubt the
// caller runs the server's own streaming validator over the whole file, which gives the refusal in
// the server's words (or accepts the file, if the screen was stricter than the server).
import yauzl from 'yauzl';
import type { ArchiveExpectations } from '../../archive/index.js';
import { LimitTracker, checkEntryName } from '../../archive/entry-rules.js';
import { isSupportedMethod } from '../../archive/entry-decoders.js';
import { ENCRYPTION_FLAGS } from '../../archive/central-directory.js';
import { MAX_DESCRIPTOR_BYTES, createContentRules } from '../../archive/plugin-descriptor.js';
import { decodeName, isUnixSymlink } from '../../archive/zip-format.js';
import { DEFAULT_ARCHIVE_LIMITS } from '../../archive/default-limits.js';

/** True when the outline raises no doubt; false when the whole file must be validated first. */
export function outlineLooksAcceptable(file: string, expect: ArchiveExpectations): Promise<boolean> {
  return new Promise((resolve) => {
    // decodeStrings off: names arrive as bytes, decoded and judged by the server's own rules rather
    // than rewritten or refused in yauzl's words.
    yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (openError, zip) => {
      if (openError || !zip) return resolve(false);
      let settled = false;
      const finish = (acceptable: boolean) => {
        if (settled) return;
        settled = true;
        zip.close();
        resolve(acceptable);
      };
      const limits = new LimitTracker(DEFAULT_ARCHIVE_LIMITS);
      const content = createContentRules(expect);
      // Any rule that throws is a doubt: the full pass says what is wrong, in the server's words.
      const judge = (check: () => void): boolean => {
        try {
          check();
          return true;
        } catch {
          finish(false);
          return false;
        }
      };
      zip.on('error', () => finish(false));
      zip.on('end', () => {
        if (judge(() => content.onAllEntriesSeen())) finish(true);
      });
      zip.on('entry', (entry: yauzl.Entry) => {
        let name = '';
        let capture = false;
        const passes = judge(() => {
          name = decodeName(entry.fileName as unknown as Buffer, entry.generalPurposeBitFlag);
          checkEntryName(name);
          if ((entry.generalPurposeBitFlag & ENCRYPTION_FLAGS) !== 0) throw new Error('encrypted');
          if (isUnixSymlink(entry.versionMadeBy, entry.externalFileAttributes)) throw new Error('symlink');
          if (!isSupportedMethod(entry.compressionMethod)) throw new Error('method');
          limits.countEntry(name);
          limits.checkDeclared(name, entry.uncompressedSize, entry.compressedSize);
          limits.addUncompressed(name, entry.uncompressedSize);
          capture = content.onEntry(name);
        });
        if (!passes) return;
        if (!capture) return zip.readEntry();
        if (entry.uncompressedSize > MAX_DESCRIPTOR_BYTES) return finish(false);
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return finish(false);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', () => finish(false));
          stream.on('end', () => {
            if (judge(() => content.onCapturedEntry(name, Buffer.concat(chunks)))) zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}
