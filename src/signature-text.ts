// One comparison for every HMAC the server issues as text (file links, install URLs, bearer tokens).
// The signature given is compared with the exact text the server wrote, in constant time. Decoding it
// first would be lenient (Node's base64 ignores junk, takes +/ for -_ and any value of the last
// character's padding bits), so one signed URL or token would have several working spellings.
import { timingSafeEqual } from 'node:crypto';

/** Whether `given` is exactly `issued`; the time taken depends on the lengths only. */
export function isIssuedSignature(given: string, issued: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(issued);
  return a.length === b.length && timingSafeEqual(a, b);
}
