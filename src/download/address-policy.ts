// Which addresses the server may fetch a download_url from. A download is a request the server
// makes on a user's behalf, so without these rules any user could make it reach the loopback
// interface, the private network it runs in, or a cloud metadata service (SSRF). Only addresses
// that are plainly public are allowed; an operator exempts hosts with EXTREPO_DOWNLOAD_ALLOW_HOSTS.

import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;

export type AddressVerdict = { allowed: true } | { allowed: false; why: string };

const ALLOWED: AddressVerdict = { allowed: true };

function refused(why: string): AddressVerdict {
  return { allowed: false, why };
}

// Wording for the ipaddr.js range names that are refused. Every name other than 'unicast' is
// refused, including ones missing here (the fallback wording covers them).
const RANGE_WORDING: Readonly<Record<string, string>> = {
  unspecified: 'an unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private network address',
  reserved: 'a reserved or documentation address',
  benchmarking: 'a benchmarking address',
  as112: 'an AS112 DNS sink address',
  as112v6: 'an AS112 DNS sink address',
  amt: 'an AMT relay anycast address',
  uniqueLocal: 'a unique-local address',
  deprecatedSiteLocal: 'a site-local address',
  discard: 'a discard-only address',
  teredo: 'a Teredo tunnel address',
  deprecatedOrchid: 'an ORCHID address',
  orchid2: 'an ORCHID address',
  droneRemoteIdProtocolEntityTags: 'a drone remote ID address',
  segmentRouting: 'a segment routing address',
};

function describeRange(range: string): string {
  return RANGE_WORDING[range] ?? `a special-purpose address (${range})`;
}

// The only IPv6 block IANA hands out for global unicast; everything outside it is either special
// or unallocated, so it is refused rather than enumerated.
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.IPv6.parseCIDR('2002::/16');

/**
 * Whether the server may connect to `address` (an IPv4 or IPv6 literal, IPv6 with or without
 * brackets). Pure: no DNS, no configuration; the allow-list is applied by the caller.
 */
export function checkAddress(address: string): AddressVerdict {
  const bare = stripBrackets(address);
  // net.isIP rather than ipaddr.isValid: ipaddr also accepts spellings such as "0x7f.1" that are
  // never what a resolver returns and never what the socket would be given.
  if (isIP(bare) === 0) return refused('not an IP address');
  const ip = ipaddr.parse(bare);
  return ip.kind() === 'ipv4' ? checkIPv4(ip as IPv4) : checkIPv6(ip as IPv6);
}

function checkIPv4(ip: IPv4): AddressVerdict {
  const range = ip.range();
  return range === 'unicast' ? ALLOWED : refused(describeRange(range));
}

function checkIPv6(ip: IPv6): AddressVerdict {
  // Forms that carry an IPv4 address reach that IPv4 host (through the kernel's dual stack or a
  // translator), so they are judged by the address they embed.
  const embedded = embeddedIPv4(ip);
  if (embedded) {
    const verdict = checkIPv4(embedded.ipv4);
    if (verdict.allowed) return verdict;
    return refused(`${embedded.form} for ${embedded.ipv4.toString()}, which is ${verdict.why}`);
  }
  const range = ip.range();
  if (range !== 'unicast') return refused(describeRange(range));
  if (!ip.match(GLOBAL_UNICAST)) return refused('outside the global unicast range 2000::/3');
  return ALLOWED;
}

interface EmbeddedIPv4 {
  form: string;
  ipv4: IPv4;
}

function embeddedIPv4(ip: IPv6): EmbeddedIPv4 | null {
  const p = ip.parts;
  const low32 = (): IPv4 => v4FromWords(p[6] ?? 0, p[7] ?? 0);
  const zeroUpTo = (n: number) => p.slice(0, n).every((part) => part === 0);

  // ::ffff:a.b.c.d (IPv4-mapped) and ::ffff:0:a.b.c.d (RFC 6145 translated).
  if (zeroUpTo(5) && p[5] === 0xffff) return { form: 'an IPv4-mapped IPv6 address', ipv4: low32() };
  if (zeroUpTo(4) && p[4] === 0xffff && p[5] === 0) return { form: 'an IPv4-translated IPv6 address', ipv4: low32() };
  // ::a.b.c.d (deprecated IPv4-compatible). :: and ::1 share the prefix but are IPv6's own
  // unspecified and loopback addresses, and are left to the range check.
  if (zeroUpTo(6) && !(p[6] === 0 && (p[7] === 0 || p[7] === 1))) {
    return { form: 'an IPv4-compatible IPv6 address', ipv4: low32() };
  }
  if (ip.match(NAT64_WELL_KNOWN)) return { form: 'a NAT64 address', ipv4: low32() };
  // 2002:AABB:CCDD::/48 is the 6to4 prefix of the IPv4 host AA.BB.CC.DD.
  if (ip.match(SIX_TO_FOUR)) return { form: 'a 6to4 address', ipv4: v4FromWords(p[1] ?? 0, p[2] ?? 0) };
  return null;
}

function v4FromWords(high: number, low: number): IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The comparable form of a host: lower case, IPv6 without brackets, no trailing dot (a fully
 * qualified "files.example." is the same host as "files.example").
 */
export function normaliseHost(host: string): string {
  const bare = stripBrackets(host.toLowerCase());
  return bare.endsWith('.') ? bare.slice(0, -1) : bare;
}

/**
 * `localhost` and every `*.localhost` name are the local machine by definition (RFC 6761), whatever
 * DNS says, so they are refused without asking DNS.
 */
export function isLocalhostName(host: string): boolean {
  const name = normaliseHost(host);
  return name === 'localhost' || name.endsWith('.localhost');
}

export function isAllowedHost(host: string, allowHosts: readonly string[]): boolean {
  const name = normaliseHost(host);
  return allowHosts.some((allowed) => normaliseHost(allowed) === name);
}
