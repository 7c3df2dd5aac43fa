/**
 * One TCP listener per configured listener (Envoy's ListenerImpl + the HCM's codec choice):
 * - codec_type HTTP2: h2c with prior knowledge; HTTP1: HTTP/1.x; AUTO: the first bytes are
 *   compared with the HTTP/2 connection preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (Envoy's
 *   Http::Utility / codec sniffing) and the socket, with the peeked bytes unshifted, goes to
 *   the HTTP/2 or HTTP/1 server.
 * - A TLS listener (transport_socket envoy.transport_sockets.tls) first completes the TLS
 *   handshake (tls/downstream-tls.ts); with AUTO the negotiated ALPN protocol decides ("h2":
 *   HTTP/2, any other: HTTP/1) and only a connection without ALPN is sniffed, as Envoy's
 *   ConnectionManagerUtility::determineNextProtocol does. The connection carries its TLS facts.
 * - Port 0 binds an ephemeral port; `port` reports the bound one.
 * - Connection ids come from one process-wide counter (Envoy's connection id).
 * - An address in use is a UserError "listener <name>: address <ip>:<port> already in use".
 * - Stats: listener.<address>.downstream_cx_total/active/destroy, downstream_cx_length_ms;
 *   http.<prefix>.downstream_cx_total/active, _http1_/_http2_ totals and actives, destroy.
 * - close() stops accepting, resets active streams and destroys every connection.
 */
import * as net from "node:net";
import type { Listener } from "../../config/model.ts";
import { listenerStatAddress, listenerStats, type HttpStats } from "../../stats/builtin.ts";
import type { StatsStore } from "../../stats/types.ts";
import { UserError } from "../../../errors.ts";
import { socketAddress, type CodecStream, type ConnectionInfo } from "./codec.ts";
import { createHttp1Server } from "./codec-http1.ts";
import { serveHttp2 } from "./codec-http2.ts";
import { h2CodecStats, type H2CodecStats } from "../../http/h2/stats.ts";
import { createDownstreamTls } from "../../tls/downstream-tls.ts";

export const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

const CONNECTION = Symbol("meshwasm.connection");
let nextConnectionId = 0;
/** Envoy's process-wide connection id counter. */
export function allocateConnectionId(): number {
  return ++nextConnectionId;
}

export interface RunningListener {
  name: string;
  address: string;
  port: number;
  close(): Promise<void>;
}

export interface ListenerDeps {
  stats: StatsStore;
  /** Binds the stats and creates the connection manager once the bound address is known. */
  connectionManager(statAddress: string): { stats: HttpStats; newStream(s: CodecStream): void; resetAll(): void };
}

function listen(server: net.Server, cfg: Listener): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (err.code === "EADDRINUSE") {
        reject(new UserError(`listener ${cfg.name}: address ${cfg.address.address}:${cfg.address.portValue} already in use`, { cause: err }));
      } else {
        reject(new UserError(`listener ${cfg.name}: cannot listen on ${cfg.address.address}:${cfg.address.portValue}: ${err.message}`, { cause: err }));
      }
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ host: cfg.address.address, port: cfg.address.portValue, exclusive: true });
  });
}

export async function startListener(cfg: Listener, deps: ListenerDeps): Promise<RunningListener> {
  const sockets = new Set<net.Socket>();
  // Stored on the socket itself, where both codecs find it.
  const connectionOf = (socket: object): ConnectionInfo =>
    (socket as { [CONNECTION]?: ConnectionInfo })[CONNECTION] ??
    { id: 0, remote: socketAddress(undefined, 0), local: socketAddress(undefined, 0) };

  let cm: ReturnType<ListenerDeps["connectionManager"]> | undefined;
  const onStream = (s: CodecStream) => cm?.newStream(s);
  const h1 = createHttp1Server(onStream, connectionOf);
  const codec = cfg.httpConnectionManager.codecType;

  const raw = net.createServer({ noDelay: true });
  await listen(raw, cfg);
  const bound = raw.address() as net.AddressInfo;
  const statAddress = listenerStatAddress(bound.address, bound.port);
  const ls = listenerStats(deps.stats, statAddress);
  cm = deps.connectionManager(statAddress);
  const hs = cm.stats;
  const tlsContext = cfg.tls ? createDownstreamTls(cfg.tls, deps.stats, statAddress) : undefined;

  // Envoy's downstream codec stats, rooted at http2. and defined with the first HTTP/2 connection.
  let h2Stats: H2CodecStats | undefined;
  const dispatch = (socket: net.Socket, http2: boolean) => {
    (http2 ? hs.downstream_cx_http2_total : hs.downstream_cx_http1_total).inc();
    const active = http2 ? hs.downstream_cx_http2_active : hs.downstream_cx_http1_active;
    active.add(1);
    socket.once("close", () => active.sub(1));
    if (http2) {
      h2Stats ??= h2CodecStats((n) => deps.stats.counter(`http2.${n}`), (n) => deps.stats.gauge(`http2.${n}`));
      serveHttp2(socket, onStream, connectionOf(socket), {
        stats: h2Stats,
        onProtocolError: () => hs.downstream_cx_protocol_error.inc(),
        bufferLimit: cfg.perConnectionBufferLimitBytes,
      });
      return;
    }
    h1.emit("connection", socket);
    // node:http reads through 'data' events: replay the peeked bytes.
    if (socket.isPaused()) socket.resume();
  };

  raw.on("connection", (socket) => {
    const started = Date.now();
    sockets.add(socket);
    const connection: ConnectionInfo = {
      id: allocateConnectionId(),
      remote: socketAddress(socket.remoteAddress, socket.remotePort),
      local: socketAddress(socket.localAddress, socket.localPort),
    };
    (socket as { [CONNECTION]?: ConnectionInfo })[CONNECTION] = connection;
    ls.downstream_cx_total.inc();
    ls.downstream_cx_active.add(1);
    hs.downstream_cx_total.inc();
    hs.downstream_cx_active.add(1);
    socket.on("error", () => {});
    socket.once("close", () => {
      sockets.delete(socket);
      ls.downstream_cx_active.sub(1);
      ls.downstream_cx_destroy.inc();
      hs.downstream_cx_active.sub(1);
      hs.downstream_cx_destroy.inc();
      const ms = Date.now() - started;
      ls.downstream_cx_length_ms.record(ms);
      hs.downstream_cx_length_ms.record(ms);
    });
    if (tlsContext) {
      tlsContext.accept(socket, (secure, ssl) => {
        (secure as { [CONNECTION]?: ConnectionInfo })[CONNECTION] = { ...connection, ssl };
        sockets.add(secure);
        secure.on("error", () => {});
        secure.once("close", () => sockets.delete(secure));
        if (codec === "HTTP2" || (codec === "AUTO" && ssl.alpn === "h2")) return dispatch(secure, true);
        if (codec === "HTTP1" || ssl.alpn !== "") return dispatch(secure, false);
        sniff(secure, (isH2) => dispatch(secure, isH2));
      });
      return;
    }
    if (codec === "HTTP2") return dispatch(socket, true);
    if (codec === "HTTP1") return dispatch(socket, false);
    sniff(socket, (isH2) => dispatch(socket, isH2));
  });

  return {
    name: cfg.name,
    address: bound.address,
    port: bound.port,
    close: async () => {
      const closed = new Promise<void>((resolve) => raw.close(() => resolve()));
      cm?.resetAll();
      for (const s of sockets) s.destroy();
      h1.closeAllConnections?.();
      await closed;
    },
  };
}

/** Reads until the bytes seen either diverge from the HTTP/2 preface or contain all of it. */
function sniff(socket: net.Socket, decide: (http2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, HTTP2_PREFACE.length);
    const matches = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
    if (matches && n < HTTP2_PREFACE.length) return;
    socket.off("data", onData);
    socket.pause();
    socket.unshift(seen);
    decide(matches);
  };
  socket.on("data", onData);
}
