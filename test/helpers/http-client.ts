// Raw HTTP requests the way the real clients send them (chunked multipart from the Go SDK, curl),
// where fetch() would hide the wire details.
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends `chunks` with Transfer-Encoding: chunked and no Content-Length, like go-openapi's io.Pipe. */
export function sendChunked(url: string, method: string, headers: Record<string, string>, chunks: Buffer[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers: { ...headers, 'transfer-encoding': 'chunked' } });
    request.on('response', (response) => {
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => parts.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(parts).toString() }));
      response.on('error', reject);
    });
    request.on('error', reject);
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

/** The multipart body cloud-sdk-go sends for an upload: one part "file", filename "Extension". */
export function goSdkMultipart(file: Buffer, partType = 'application/zip'): { contentType: string; chunks: Buffer[] } {
  const boundary = 'a3f1c9d2e4b5a6978812ffee0011223344556677889900aabbccddeeff';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="Extension"\r\nContent-Type: ${partType}\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  // Split the file into several chunks so the part spans many reads on the server.
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < file.length; offset += 1000) pieces.push(file.subarray(offset, offset + 1000));
  return { contentType: `multipart/form-data; boundary=${boundary}`, chunks: [head, ...pieces, tail] };
}

export async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await execFileAsync('curl', ['-sS', '-w', '\n%{http_code}', ...args], { maxBuffer: 64 * 1024 * 1024 });
  const cut = stdout.lastIndexOf('\n');
  return { body: stdout.slice(0, cut), status: Number(stdout.slice(cut + 1)) };
}
