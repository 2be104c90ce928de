// Content rules: what an extension's files must look like, per extension type. Plugins must carry
// exactly one descriptor at the zip root that Elasticsearch's plugin installer would accept, for
// the Elasticsearch version the extension is declared for. Bundles may hold any files.

import type { ArchiveExpectations, ArchiveReport } from './types.js';
import { ArchiveRejectedError, quote } from './errors.js';
import { JavaPropertiesError, parseJavaProperties } from './java-properties.js';

export const CLASSIC_DESCRIPTOR = 'plugin-descriptor.properties';
export const STABLE_DESCRIPTOR = 'stable-plugin-descriptor.properties';

/** Descriptors are a handful of lines; anything bigger is not a descriptor we should buffer. */
export const MAX_DESCRIPTOR_BYTES = 64 * 1024;

const COMMON_KEYS = ['name', 'description', 'version', 'java.version', 'elasticsearch.version'] as const;
/** Keys that must also be non-empty (Elasticsearch accepts an empty description). */
const NON_EMPTY_KEYS = new Set(['name', 'version', 'java.version', 'elasticsearch.version', 'classname']);

export interface ContentRules {
  /** Called for each local entry as its header arrives; returns true to capture its content. */
  onEntry(name: string): boolean;
  /** Called with the complete, CRC-checked content of an entry onEntry asked for. */
  onCapturedEntry(name: string, content: Buffer): void;
  /** Called once no more entries can follow (the central directory started). */
  onAllEntriesSeen(): void;
  /** Contribution to the final report. */
  report(): Pick<ArchiveReport, 'descriptor'>;
}

export function createContentRules(expect: ArchiveExpectations): ContentRules {
  return expect.extensionType === 'plugin' ? new PluginContentRules(expect.version) : new BundleContentRules();
}

class BundleContentRules implements ContentRules {
  onEntry(): boolean {
    return false;
  }
  onCapturedEntry(): void {}
  onAllEntriesSeen(): void {}
  report(): Pick<ArchiveReport, 'descriptor'> {
    return {};
  }
}

export class PluginContentRules implements ContentRules {
  private descriptorName: string | undefined;
  /** A descriptor seen inside a directory: the usual mistake behind a missing root descriptor. */
  private nestedDescriptor: string | undefined;
  private descriptor: { file: string; properties: Record<string, string> } | undefined;

  constructor(private readonly expectedVersion: string) {}

  onEntry(name: string): boolean {
    if (name.startsWith('elasticsearch/')) {
      // Same check and wording as Elasticsearch's InstallPluginAction.
      throw new ArchiveRejectedError(
        'legacy_layout',
        `Entry ${quote(name)}: This plugin was built with an older plugin structure. ` +
          'Contact the plugin author to remove the intermediate "elasticsearch" directory within the plugin zip.',
        name,
      );
    }
    if (name !== CLASSIC_DESCRIPTOR && name !== STABLE_DESCRIPTOR) {
      if (name.endsWith(`/${CLASSIC_DESCRIPTOR}`) || name.endsWith(`/${STABLE_DESCRIPTOR}`)) this.nestedDescriptor ??= name;
      return false;
    }
    if (this.descriptorName !== undefined) {
      const detail =
        this.descriptorName === name
          ? `the archive contains ${quote(name)} twice`
          : `the archive contains both ${quote(this.descriptorName)} and ${quote(name)}`;
      throw new ArchiveRejectedError(
        'duplicate_descriptor',
        `A plugin must have exactly one descriptor at the zip root, but ${detail}. Keep only the descriptor that matches the plugin's API ` +
          `(${quote(STABLE_DESCRIPTOR)} for stable plugins, ${quote(CLASSIC_DESCRIPTOR)} otherwise).`,
        name,
      );
    }
    this.descriptorName = name;
    return true;
  }

  onCapturedEntry(name: string, content: Buffer): void {
    let properties: Record<string, string>;
    try {
      // java.util.Properties.load(InputStream), which Elasticsearch uses, reads ISO-8859-1.
      properties = parseJavaProperties(content.toString('latin1'));
    } catch (error) {
      if (!(error instanceof JavaPropertiesError)) throw error;
      throw new ArchiveRejectedError(
        'invalid_descriptor',
        `The plugin descriptor ${quote(name)} cannot be read as a Java properties file: ${error.message}. Fix the descriptor and rebuild the plugin.`,
        name,
      );
    }
    const required: string[] = [...COMMON_KEYS];
    if (name === CLASSIC_DESCRIPTOR) required.push('classname');
    for (const key of required) {
      const value = properties[key];
      const missing = value === undefined || (NON_EMPTY_KEYS.has(key) && value.trim() === '');
      if (missing) {
        throw new ArchiveRejectedError(
          'descriptor_key_missing',
          `The plugin descriptor ${quote(name)} has no value for the required property "${key}". ` +
            `Add "${key}=..." to the descriptor and rebuild the plugin.`,
          name,
        );
      }
    }
    const esVersion = properties['elasticsearch.version']!;
    if (esVersion !== this.expectedVersion) {
      throw new ArchiveRejectedError(
        'version_mismatch',
        `The extension's version is ${quote(this.expectedVersion)} but the plugin descriptor ${quote(name)} declares ` +
          `elasticsearch.version=${quote(esVersion)}; they must be equal. Set the extension's version to ${quote(esVersion)}, ` +
          `or rebuild the plugin for Elasticsearch ${this.expectedVersion}.`,
        name,
      );
    }
    this.descriptor = { file: name, properties };
  }

  onAllEntriesSeen(): void {
    if (this.descriptorName === undefined) {
      const found = this.nestedDescriptor ? ` (found ${quote(this.nestedDescriptor)} inside a directory)` : '';
      throw new ArchiveRejectedError(
        'missing_descriptor',
        `The plugin has no ${quote(CLASSIC_DESCRIPTOR)} (or ${quote(STABLE_DESCRIPTOR)}) at the zip root${found}. ` +
          'The descriptor must be at the root of the zip, not inside a directory: create the zip from inside the plugin directory.',
        this.nestedDescriptor,
      );
    }
  }

  report(): Pick<ArchiveReport, 'descriptor'> {
    return this.descriptor ? { descriptor: this.descriptor } : {};
  }
}
