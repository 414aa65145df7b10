/**
 * The address a request comes from, as Meteor works it out: the socket's address, or,
 * behind `HTTP_FORWARDED_COUNT` proxies, the entry of `X-Forwarded-For` that the nearest
 * of those proxies wrote. Entries further left are whatever the client claimed, so they
 * are never read.
 */

/**
 * The client's address. `socketAddress` is the peer of the TCP connection, `forwardedFor`
 * the `X-Forwarded-For` header, `proxies` how many trusted proxies stand in front. When
 * the header has fewer entries than proxies (or none), the socket's address is answered.
 */
export function clientAddress(
  socketAddress: string,
  forwardedFor: string | null,
  proxies: number,
): string {
  if (proxies <= 0 || !forwardedFor) return socketAddress;
  const hops = forwardedFor
    .trim()
    .split(/\s*,\s*/)
    .filter((hop) => hop !== "");
  if (proxies > hops.length) return socketAddress;
  return hops[hops.length - proxies] as string;
}
