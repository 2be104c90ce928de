// Bytes on a bare TCP socket, for what an HTTP client library would refuse to send: malformed
// requests, trickled headers and bodies, connections that never finish.
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server wrote before it closed the connection. */
  text: string;
}

/** Opens a connection to the server at `url` (http://host:port). */
export function connect(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collects what the server writes until it closes the connection (or `idleMs` pass without a byte). */
export function readUntilClosed(socket: net.Socket, idleMs = 30_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    let timer = setTimeout(done, idleMs, false);
    function done(closed: boolean) {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve({ text, closed });
    }
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      clearTimeout(timer);
      timer = setTimeout(done, idleMs, false);
    });
    socket.once('close', () => done(true));
    socket.on('error', () => undefined);
  });
}

/** Parses one HTTP/1.1 response (Content-Length or close-delimited body). */
export function parseAnswer(text: string): RawAnswer {
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = split === -1 ? '' : text.slice(split + 4);
  if (headers['content-length'] !== undefined) body = Buffer.from(body).subarray(0, Number(headers['content-length'])).toString();
  return { status: Number(statusLine?.split(' ')[1] ?? 0), headers, body, text };
}

/** Sends `request` as is and returns the answer once the server closes the connection. */
export async function exchange(url: string, request: string | Buffer, idleMs?: number): Promise<RawAnswer> {
  const socket = await connect(url);
  const reading = readUntilClosed(socket, idleMs);
  socket.write(request);
  const { text } = await reading;
  socket.destroy();
  return parseAnswer(text);
}
