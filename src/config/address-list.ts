import { BlockList, isIPv4, isIPv6 } from 'node:net';

// Lists of client addresses and CIDRs in settings (trusted_addresses), as Node's BlockList.

/** Adds `10.1.0.0/16`, `2001:db8::/32` or a single address to the list; throws TypeError when it is neither. */
function addRule(list: BlockList, cidr: string): void {
  const [address = '', prefix, ...rest] = cidr.trim().split('/');
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  const bits = prefix === undefined ? undefined : Number(prefix);
  const max = family === 'ipv4' ? 32 : 128;
  if (!family || rest.length > 0 || (bits !== undefined && (!/^\d{1,3}$/.test(prefix!) || bits > max))) {
    throw new TypeError(`${cidr} is not an IP address or CIDR (such as 192.0.2.10 or 203.0.113.0/24)`);
  }
  if (bits === undefined) list.addAddress(address, family);
  else list.addSubnet(address, bits, family);
}

/** The addresses and CIDRs as one list; throws TypeError naming the first that is neither. */
export function addressList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) addRule(list, cidr);
  return list;
}

/** The problem with an address or CIDR, or undefined when it is one. */
export function addressProblem(value: string): string | undefined {
  try {
    addRule(new BlockList(), value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** An IPv4 address written as IPv6 (`::ffff:192.0.2.1`, as a dual-stack listener sees it) in its IPv4 form. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** Whether the list holds the address. */
export function listHolds(list: BlockList, address: string): boolean {
  const plain = plainAddress(address);
  return list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
}
