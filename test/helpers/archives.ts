// Small valid extension archives for API tests, built in code with yazl.
import { ZipFile } from 'yazl';

export async function zipOf(files: Record<string, string | Buffer>, options: { compress?: boolean } = {}): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, content] of Object.entries(files)) {
    zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name, { compress: options.compress ?? true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function bundleZip(content = 'laptop, notebook\n'): Promise<Buffer> {
  return zipOf({ 'dictionaries/synonyms.txt': content });
}

export function pluginDescriptor(version: string, overrides: Record<string, string | null> = {}): string {
  const properties: Record<string, string | null> = {
    description: 'An analysis plugin for tests',
    version: '1.0.0',
    name: 'analysis-test',
    classname: 'org.example.AnalysisTestPlugin',
    'java.version': '17',
    'elasticsearch.version': version,
    ...overrides,
  };
  return Object.entries(properties)
    .filter(([, value]) => value !== null)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');
}

export function pluginZip(version: string, overrides: Record<string, string | null> = {}): Promise<Buffer> {
  return zipOf({
    'plugin-descriptor.properties': pluginDescriptor(version, overrides),
    'analysis-test-1.0.0.jar': Buffer.alloc(2048, 7),
  });
}
