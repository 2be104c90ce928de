// Finds a plugin descriptor at the root of a folder or a zip, so that `push` can tell a plugin from
// a bundle and take the plugin's name, version and description from it when they are not given.
// Only a hint: the full validation pass decides whether the archive is acceptable.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import yauzl from 'yauzl';
import { parseJavaProperties } from '../../archive/index.js';

/** The names a plugin's descriptor may have, at the archive's root. */
export const DESCRIPTOR_FILES = ['plugin-descriptor.properties', 'stable-plugin-descriptor.properties'];

const MAX_DESCRIPTOR_BYTES = 64 * 1024;

export type Descriptor = Record<string, string>;

function parse(text: string): Descriptor | null {
  try {
    return parseJavaProperties(text);
  } catch {
    return {}; // present but unreadable: still a plugin; validation will say what is wrong
  }
}

export async function folderDescriptor(root: string): Promise<Descriptor | null> {
  for (const name of DESCRIPTOR_FILES) {
    const text = await readFile(path.join(root, name), 'utf8').catch(() => null);
    if (text !== null) return parse(text);
  }
  return null;
}

/** Reads the central directory (not the whole file) to find and read the descriptor. */
export function zipDescriptor(file: string): Promise<Descriptor | null> {
  return new Promise((resolve) => {
    yauzl.open(file, { lazyEntries: true, autoClose: true, validateEntrySizes: true }, (openError, zip) => {
      // Not a readable zip: no hint; the validation pass reports it in the server's words.
      if (openError || !zip) return resolve(null);
      const finish = (value: Descriptor | null) => {
        zip.close();
        resolve(value);
      };
      zip.on('error', () => finish(null));
      zip.on('end', () => finish(null));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (!DESCRIPTOR_FILES.includes(entry.fileName) || entry.uncompressedSize > MAX_DESCRIPTOR_BYTES) {
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return finish({});
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', () => finish({}));
          stream.on('end', () => finish(parse(Buffer.concat(chunks).toString('utf8'))));
        });
      });
      zip.readEntry();
    });
  });
}
