/**
 * A TCP proxy in front of a registry that cuts connections in the middle of blob uploads, to
 * test interrupted uploads: for the next `cuts` PATCH requests it forwards the request headers
 * and `bodyBytes` bytes of the body, then destroys both sides (what a dropped network does).
 * Everything else passes through untouched. Listens on 127.0.0.1.
 */
import net from "node:net";

export interface CuttingProxy {
  host: string;
  /** PATCH requests still to cut (set to Infinity to cut all). */
  cuts: number;
  /** Body bytes forwarded before a cut. */
  bodyBytes: number;
  /** PATCH requests cut so far. */
  cut: number;
  stop(): Promise<void>;
}

export async function startCuttingProxy(target: { host: string; port: number }, opts: { cuts: number; bodyBytes: number }): Promise<CuttingProxy> {
  const sockets = new Set<net.Socket>();
  const state: CuttingProxy = { host: "", cuts: opts.cuts, bodyBytes: opts.bodyBytes, cut: 0, stop: async () => {} };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on("close", () => sockets.delete(client));
    upstream.on("close", () => sockets.delete(upstream));
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    upstream.pipe(client);
    // Track one PATCH at a time: once its headers end, count body bytes.
    let pending = Buffer.alloc(0);
    let cutting: { bodyLeft: number } | null = null;
    client.on("data", (chunk: Buffer) => {
      if (cutting === null && state.cuts > 0) {
        pending = Buffer.concat([pending, chunk]).subarray(-65536);
        const at = pending.indexOf("PATCH /v2/");
        if (at >= 0) {
          const end = pending.indexOf("\r\n\r\n", at);
          if (end >= 0) {
            state.cuts--;
            cutting = { bodyLeft: state.bodyBytes };
            // Forward everything up to the end of the headers of this chunk, then the body budget.
            const headerEndInChunk = chunk.length - (pending.length - (end + 4));
            const allowed = Math.max(0, headerEndInChunk) + cutting.bodyLeft;
            upstream.write(chunk.subarray(0, Math.min(chunk.length, allowed)));
            cutting.bodyLeft -= Math.max(0, Math.min(chunk.length, allowed) - Math.max(0, headerEndInChunk));
            if (allowed < chunk.length || cutting.bodyLeft <= 0) return finishCut();
            return;
          }
        }
        upstream.write(chunk);
        return;
      }
      if (cutting !== null) {
        const take = Math.min(chunk.length, cutting.bodyLeft);
        upstream.write(chunk.subarray(0, take));
        cutting.bodyLeft -= take;
        if (cutting.bodyLeft <= 0) finishCut();
        return;
      }
      upstream.write(chunk);
    });
    const finishCut = () => {
      state.cut++;
      // Let the forwarded bytes reach the registry before the connection drops.
      setTimeout(() => {
        client.destroy();
        upstream.destroy();
      }, 100);
      client.pause();
    };
    client.on("end", () => upstream.end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  state.stop = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  return state;
}
