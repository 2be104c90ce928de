// An extension row as both SQL stores read it in array mode, and the record built from it.
import type { ExtensionFile, ExtensionRecord, ExtensionType } from '../metadata-store.js';

/** The columns every extension read selects, in this order. */
export const EXTENSION_COLUMNS = `id, name, version, extension_type, description, download_url, file_sha256, file_size,
  file_uploaded_at, owner_id, resource_version, created_at, modified_at`;

/**
 * A row of EXTENSION_COLUMNS in array mode. Sizes and times are epoch milliseconds: numbers from
 * SQLite, decimal strings from pg (int8). Arrays rather than keyed rows: with 100,000 rows, a keyed
 * object per row in the driver and then the record here cost about twice as much.
 */
export type ExtensionTuple = [
  id: string,
  name: string,
  version: string,
  extensionType: string,
  description: string | null,
  downloadUrl: string | null,
  fileSha256: string | null,
  fileSize: number | string | null,
  fileUploadedAt: number | string | null,
  ownerId: string | null,
  resourceVersion: number,
  createdAt: number | string,
  modifiedAt: number | string,
];

/**
 * Listing builds one record per row, 100,000 at a time, and each dies within microseconds. They are
 * made by a constructor rather than an object literal on purpose: V8 pretenures a literal's
 * allocation site once its objects were seen to survive (as records do in other phases, e.g. while
 * a create waits for its fsync). Pretenured, every listed record went straight to the old
 * generation, kept its young strings alive across scavenges and forced a full mark-compact per
 * listing: 100,000 extensions then took ~300 ms of CPU instead of ~210 ms.
 */
class TupleFile implements ExtensionFile {
  constructor(
    readonly sha256: string,
    readonly size: number,
    readonly uploadedAt: Date,
  ) {}
}

class TupleRecord implements ExtensionRecord {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly extensionType: ExtensionType;
  readonly description: string | null;
  readonly downloadUrl: string | null;
  readonly file: ExtensionFile | null;
  readonly ownerId: string | null;
  readonly resourceVersion: number;
  readonly createdAt: Date;
  readonly modifiedAt: Date;

  constructor(row: ExtensionTuple) {
    const sha256 = row[6];
    this.id = row[0];
    this.name = row[1];
    this.version = row[2];
    this.extensionType = row[3] as ExtensionType;
    this.description = row[4];
    this.downloadUrl = row[5];
    this.file = sha256 === null ? null : new TupleFile(sha256, Number(row[7]), new Date(Number(row[8])));
    this.ownerId = row[9];
    this.resourceVersion = row[10];
    this.createdAt = new Date(Number(row[11]));
    this.modifiedAt = new Date(Number(row[12]));
  }
}

export function tupleToRecord(row: ExtensionTuple): ExtensionRecord {
  return new TupleRecord(row);
}
