/**
 * envoy.config.core.v3.Address with a socket_address. Envoy resolves listener, admin and
 * STATIC endpoint addresses as IP literals only ("malformed IP address"); DNS cluster
 * endpoints may be hostnames. port_value is 0..65535; protocol TCP only.
 */
import { isIP } from "node:net";
import type { SocketAddressConfig } from "./model.ts";
import { Message, enumValue, msg, str, u32 } from "./fields.ts";

export function socketAddress(parent: Message, field: string, opts: { ipOnly: boolean; required: boolean; why?: string }): SocketAddressConfig | undefined {
  const address = msg(parent, field, "envoy.config.core.v3.Address");
  if (!address) {
    if (opts.required) parent.required(field);
    return undefined;
  }
  address.unsupported("pipe");
  address.unsupported("envoy_internal_address");
  const sa = msg(address, "socket_address", "envoy.config.core.v3.SocketAddress");
  address.done();
  if (!sa) {
    if (address.has("pipe") || address.has("envoy_internal_address")) return undefined;
    address.required("socket_address");
    return undefined;
  }
  const protocol = enumValue(sa, "protocol", ["TCP", "UDP"] as const);
  if (protocol === "UDP") sa.ctx.error(sa.pathOf("protocol"), sa.posOf("protocol"), "not supported by the local sidecar: only TCP");
  const host = str(sa, "address", { required: true });
  const portAt = sa.has("port_value");
  const port = u32(sa, "port_value", { max: 65535 });
  if (!portAt && !sa.has("named_port")) sa.required("port_value");
  sa.unsupported("named_port");
  sa.unsupported("resolver_name");
  sa.unsupported("ipv4_compat");
  sa.done();
  if (host !== undefined && opts.ipOnly && isIP(host) === 0) {
    sa.ctx.error(sa.pathOf("address"), sa.posOf("address"), `malformed IP address ${JSON.stringify(host)}: ${opts.why ?? "must be an IP literal"}`);
    return undefined;
  }
  if (host === undefined || port === undefined) return undefined;
  return { address: host, portValue: port };
}
