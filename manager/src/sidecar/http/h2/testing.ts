/**
 * Test support for the HTTP/2 codec's own tests: TCP servers on 127.0.0.1 whose connections are
 * served by H2ServerConnection, or whose bytes go nowhere (a peer for feeding a connection by
 * hand). Every server is closed by the returned `close`.
 */
import net from "node:net";
import { H2ServerConnection, type H2ServerEvents, type H2ServerOptions } from "./server-connection.ts";

export interface ServedConnections {
  port: number;
  /** The server side of each accepted connection. */
  sockets: net.Socket[];
  conns: H2ServerConnection[];
  /** How many times a connection's onClose fired. */
  closes: number;
  close(): void;
}

/** A server whose connections are H2ServerConnections (64 KiB windows and 1,000 streams unless `opts` says otherwise). */
export async function serveH2(onStream: H2ServerEvents["onStream"], opts: Partial<H2ServerOptions> = {}): Promise<ServedConnections> {
  const served: ServedConnections = { port: 0, sockets: [], conns: [], closes: 0, close: () => {} };
  const srv = net.createServer((sock) => {
    sock.on("error", () => {});
    served.sockets.push(sock);
    served.conns.push(new H2ServerConnection(sock, { onStream, onClose: () => served.closes++ }, { localWindow: 65_535, maxConcurrentStreams: 1000, ...opts }));
    sock.resume();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  served.port = (srv.address() as net.AddressInfo).port;
  served.close = () => {
    for (const c of served.conns) c.destroy();
    srv.close();
  };
  return served;
}

/** A server that reads and drops everything: the far end of a socket a test feeds by hand. */
export async function startSink(): Promise<{ port: number; close(): Promise<void> }> {
  const sink = net.createServer((s) => {
    s.on("error", () => {});
    s.resume();
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  return {
    port: (sink.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => sink.close(() => r())),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond()` holds, failing with "timed out waiting for <what>" after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
