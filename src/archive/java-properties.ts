// A small parser for the java.util.Properties text format (Properties.load), enough to read
// Elasticsearch plugin descriptors the way Elasticsearch itself reads them.
//
// Rules implemented (as in the JDK): natural lines end at \n, \r or \r\n; leading whitespace
// (space, tab, form feed) is ignored; a line whose first non-blank character is '#' or '!' is a
// comment (comments never continue); a line ending in an odd number of backslashes continues on
// the next line, whose leading whitespace is dropped; the key ends at the first unescaped '=',
// ':' or whitespace, and one '='/':' plus surrounding whitespace separate it from the value;
// escapes are \t \n \r \f, \uXXXX, and backslash-anything for that character. The last of
// duplicate keys wins. Callers decode bytes first (Properties.load(InputStream) uses ISO-8859-1).

const BLANK = new Set([' ', '\t', '\f']);

export class JavaPropertiesError extends Error {
  override name = 'JavaPropertiesError';
}

export function parseJavaProperties(text: string): Record<string, string> {
  const result: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of logicalLines(text)) {
    const [rawKey, rawValue] = splitKeyValue(line);
    result[unescape(rawKey)] = unescape(rawValue);
  }
  // Keys were collected on a null-prototype object so that a key like "__proto__" is just a key;
  // hand back an ordinary object, copied with defineProperty so such keys stay plain data.
  const plain: Record<string, string> = {};
  for (const key of Object.keys(result)) {
    Object.defineProperty(plain, key, { value: result[key], enumerable: true, writable: true, configurable: true });
  }
  return plain;
}

function* logicalLines(text: string): Generator<string> {
  const natural = text.split(/\r\n|\r|\n/);
  let pending: string | null = null; // a logical line being continued
  for (const raw of natural) {
    const line = stripLeadingBlanks(raw);
    if (pending === null) {
      if (line === '' || line[0] === '#' || line[0] === '!') continue;
    }
    // Parity is per natural line: the JDK resets its backslash state at each continuation.
    const continues = trailingBackslashes(line) % 2 === 1;
    const joined: string = (pending ?? '') + (continues ? line.slice(0, -1) : line);
    if (continues) {
      pending = joined;
      continue;
    }
    pending = null;
    yield joined;
  }
  // A continuation backslash on the last line just ends the value (as the JDK does).
  if (pending !== null && pending !== '') yield pending;
}

function stripLeadingBlanks(s: string): string {
  let i = 0;
  while (i < s.length && BLANK.has(s[i]!)) i++;
  return s.slice(i);
}

function trailingBackslashes(s: string): number {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === '\\'; i--) n++;
  return n;
}

function splitKeyValue(line: string): [string, string] {
  let i = 0;
  let escaped = false;
  for (; i < line.length; i++) {
    const c = line[i]!;
    if (escaped) {
      escaped = false;
      continue;
    }
    if (c === '\\') escaped = true;
    else if (c === '=' || c === ':' || BLANK.has(c)) break;
  }
  const key = line.slice(0, i);
  let j = i;
  while (j < line.length && BLANK.has(line[j]!)) j++;
  if (j < line.length && (line[j] === '=' || line[j] === ':')) {
    j++;
    while (j < line.length && BLANK.has(line[j]!)) j++;
  }
  return [key, line.slice(j)];
}

function unescape(s: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    if (i >= s.length) break; // a lone trailing backslash is dropped
    const e = s[i]!;
    switch (e) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const hex = s.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JavaPropertiesError(`Malformed \\uXXXX escape "\\u${hex}"`);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        out += e;
    }
  }
  return out;
}
