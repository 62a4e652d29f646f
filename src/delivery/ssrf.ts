import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * The SSRF guard: which IP addresses a webhook may be delivered to.
 *
 * Checked on the address a socket is about to connect to (in the DNS lookup the connection itself uses, and for
 * IP-literal URLs before connecting), so a hostname that resolves to a public address when an endpoint is saved
 * and to 127.0.0.1 at delivery time (DNS rebinding) is still refused.
 */

/** Ranges refused unless an allow-list entry covers the address. */
export const BLOCKED_RANGES: readonly { cidr: string; what: string }[] = [
  { cidr: '0.0.0.0/8', what: 'unspecified / "this network"' },
  { cidr: '10.0.0.0/8', what: 'private network (RFC 1918)' },
  { cidr: '100.64.0.0/10', what: 'carrier-grade NAT (RFC 6598)' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local / cloud metadata' },
  { cidr: '172.16.0.0/12', what: 'private network (RFC 1918)' },
  { cidr: '192.0.0.0/24', what: 'IETF protocol assignments' },
  { cidr: '192.0.2.0/24', what: 'documentation (TEST-NET-1)' },
  { cidr: '192.168.0.0/16', what: 'private network (RFC 1918)' },
  { cidr: '198.18.0.0/15', what: 'benchmarking (RFC 2544)' },
  { cidr: '198.51.100.0/24', what: 'documentation (TEST-NET-2)' },
  { cidr: '203.0.113.0/24', what: 'documentation (TEST-NET-3)' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved / broadcast' },
  { cidr: '::1/128', what: 'loopback' },
  { cidr: '::/96', what: 'unspecified / IPv4-compatible' },
  { cidr: '64:ff9b:1::/48', what: 'local-use NAT64' },
  { cidr: '100::/64', what: 'discard-only' },
  { cidr: '2001::/32', what: 'Teredo tunnelling' },
  { cidr: '2001:db8::/32', what: 'documentation' },
  { cidr: 'fc00::/7', what: 'unique local address (ULA)' },
  { cidr: 'fe80::/10', what: 'link-local' },
  { cidr: 'fec0::/10', what: 'site-local (deprecated)' },
  { cidr: 'ff00::/8', what: 'multicast' },
];

/** Parses `a.b.c.d/n` or `x::y/n` (a bare address means a single host); throws on anything else. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) throw new Error(`"${text}" is not an IP address or CIDR range`);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? String(max)) || prefix > max) throw new Error(`"${text}" has an invalid prefix length (0-${max})`);
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export class SsrfError extends Error {
  override readonly name = 'SsrfError';
  readonly code = 'HOOKD_SSRF_BLOCKED';
}

export class DestinationPolicy {
  private readonly blocked: { list: BlockList; cidr: string; what: string }[];
  private readonly allowed = new BlockList();

  /** `allow`: CIDRs (or single addresses) that are permitted even though a blocked range covers them. */
  constructor(allow: readonly string[] = []) {
    this.blocked = BLOCKED_RANGES.map(({ cidr, what }) => {
      const list = new BlockList();
      const { address, prefix, family } = parseCidr(cidr);
      list.addSubnet(address, prefix, family);
      return { list, cidr, what };
    });
    for (const entry of allow) {
      const { address, prefix, family } = parseCidr(entry);
      this.allowed.addSubnet(address, prefix, family);
    }
  }

  /** Null when `ip` may be connected to, else why not (a sentence for the attempt log). */
  refusal(ip: string): string | null {
    const address = embeddedIpv4(ip) ?? ip;
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (isIP(address) === 0) return `destination "${ip}" is not an IP address`;
    if (this.allowed.check(address, family)) return null;
    const range = this.blocked.find((r) => r.list.check(address, family));
    if (!range) return null;
    return `destination ${ip} is in a blocked range (${range.cidr}, ${range.what}); allow it with HOOKD_SSRF_ALLOW`;
  }

  /** Throws SsrfError when `ip` is refused. */
  check(ip: string): void {
    const reason = this.refusal(ip);
    if (reason) throw new SsrfError(reason);
  }

  /**
   * A drop-in for dns.lookup (the shape net.connect's `lookup` option takes) that resolves with `resolve` and
   * then drops every refused address; fails with SsrfError when none is left.
   */
  guardedLookup(resolve: typeof dnsLookup = dnsLookup): typeof dnsLookup {
    const guarded = (hostname: string, options: unknown, callback: (...args: unknown[]) => void): void => {
      const opts = (typeof options === 'object' && options !== null ? options : { family: options }) as { all?: boolean };
      resolve(hostname, { ...opts, all: true }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error);
        const permitted = addresses.filter((a) => this.refusal(a.address) === null);
        if (permitted.length === 0) {
          const first = addresses[0];
          const reason = first ? this.refusal(first.address)! : `no address for ${hostname}`;
          return callback(new SsrfError(`${hostname}: ${reason}`));
        }
        if (opts.all) return callback(null, permitted);
        callback(null, permitted[0]!.address, permitted[0]!.family);
      });
    };
    return guarded as unknown as typeof dnsLookup;
  }
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) IPv6 address, else null. */
function embeddedIpv4(ip: string): string | null {
  if (isIP(ip) !== 6) return null;
  const groups = expandIpv6(ip);
  const isMapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  const isNat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  if (!isMapped && !isNat64) return null;
  return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
}

/** The eight 16-bit groups of an IPv6 address (valid input assumed; a trailing dotted quad is allowed). */
function expandIpv6(ip: string): number[] {
  let text = ip.split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => parseInt(g, 16));
}
