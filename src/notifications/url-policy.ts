/**
 * Which webhook URLs Bulwark may call. A webhook is a request the service makes on a user's behalf,
 * so without this a project member could make it reach the cloud metadata service (credentials) or
 * services on the host's loopback. Checked when a subscription is created (on the URL as written)
 * and before every delivery (on the addresses the host name resolves to then).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { bwkError } from '../core/errors.js';
import type { NotificationsConfig } from '../common/config.js';

/** Never reached unless listed in allowed_hosts: link-local (169.254.169.254 is in it) and metadata addresses. */
const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');
LINK_LOCAL.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6
LINK_LOCAL.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
LINK_LOCAL.addSubnet('0.0.0.0', 8, 'ipv4');
LINK_LOCAL.addAddress('::', 'ipv6');

/** Reached only with allow_private (or when listed): loopback and private networks. */
const PRIVATE = new BlockList();
PRIVATE.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('100.64.0.0', 10, 'ipv4');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');

export type UrlPolicy = Pick<NotificationsConfig, 'allowed_hosts' | 'allow_private'>;

const refuse = (reason: string) => bwkError('BWK_ERR_WEBHOOK_URL_REFUSED', { reason });

/** An IPv4-mapped IPv6 address (::ffff:169.254.169.254) is checked as the IPv4 address it is. */
function normalise(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

function checkAddress(raw: string, host: string, policy: UrlPolicy): void {
  const { address, family } = normalise(raw);
  if (LINK_LOCAL.check(address, family)) throw refuse(`${host} is a link-local or metadata address (${address})`);
  if (PRIVATE.check(address, family) && !policy.allow_private) throw refuse(`${host} is a loopback or private address (${address})`);
}

/** The host without IPv6 brackets or the root label's dot (`localhost.` is `localhost`). */
function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

/** Every address a name resolves to (the resolver is a parameter so tests can name what DNS answers). */
export type Resolve = (host: string) => Promise<string[]>;
const resolveAll: Resolve = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/** The URL, parsed, when its form and literal host are acceptable; BWK_ERR_WEBHOOK_URL_REFUSED otherwise. */
export function checkWebhookUrl(raw: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('it is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse(`scheme ${url.protocol} is not http or https`);
  // Credentials in the URL would be listed with the subscription; the HMAC signature authenticates instead.
  if (url.username || url.password) throw refuse('it carries a user name or password');
  const host = hostOf(url);
  if (policy.allowed_hosts.some((h) => h.replace(/^\[|\]$/g, '').toLowerCase() === host)) return url;
  if (host === 'localhost' || host.endsWith('.localhost')) {
    if (!policy.allow_private) throw refuse(`${host} is a loopback address`);
    return url;
  }
  if (host === 'metadata.google.internal' || host === 'metadata') throw refuse(`${host} is a metadata service`);
  if (isIP(host)) checkAddress(host, host, policy);
  return url;
}

/** As checkWebhookUrl, and every address the host resolves to now must be acceptable too. */
export async function checkWebhookTarget(raw: string, policy: UrlPolicy, resolve: Resolve = resolveAll): Promise<URL> {
  const url = checkWebhookUrl(raw, policy);
  const host = hostOf(url);
  if (isIP(host) || policy.allowed_hosts.some((h) => h.replace(/^\[|\]$/g, '').toLowerCase() === host)) return url;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    throw refuse(`${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  for (const address of addresses) checkAddress(address, host, policy);
  return url;
}
