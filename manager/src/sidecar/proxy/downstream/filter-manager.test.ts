import { describe, expect, it } from "vitest";
import { BodyBuffer } from "../../http/body-buffer.ts";
import {
  DataStatus,
  HeadersStatus,
  PassThroughFilter,
  TrailersStatus,
  type StreamFilter,
} from "../../http/filter.ts";
import { HeaderMap } from "../../http/header-map.ts";
import { StreamInfo } from "../../http/stream-info.ts";
import { FilterManager, type DownstreamSink } from "./filter-manager.ts";

const te = new TextEncoder();
const td = new TextDecoder();

class RecordingSink implements DownstreamSink {
  events: string[] = [];
  headers?: HeaderMap;
  body = "";
  trailers?: HeaderMap;
  readDisabled = 0;
  encodeHeaders(h: HeaderMap, end: boolean) {
    this.headers = h;
    this.events.push(`headers:${h.get(":status")}${end ? ":end" : ""}`);
  }
  encodeData(d: Uint8Array, end: boolean) {
    this.body += td.decode(d);
    this.events.push(`data:${td.decode(d)}${end ? ":end" : ""}`);
  }
  encodeTrailers(t: HeaderMap) {
    this.trailers = t;
    this.events.push("trailers");
  }
  resetStream() {
    this.events.push("reset");
  }
  readDisable(d: boolean) {
    this.readDisabled += d ? 1 : -1;
  }
}

type Script = Partial<{
  decodeHeaders: HeadersStatus;
  decodeData: DataStatus | ((d: BodyBuffer, end: boolean) => DataStatus);
  decodeTrailers: TrailersStatus;
  encodeHeaders: HeadersStatus;
  encodeData: DataStatus;
  encodeTrailers: TrailersStatus;
}>;

/** Records every call as "<name>.<callback>[:data][:end]". */
class ScriptedFilter extends PassThroughFilter {
  constructor(
    readonly name: string,
    readonly log: string[],
    public script: Script = {},
  ) {
    super();
  }
  get dec() {
    return this.decoderCallbacks;
  }
  get enc() {
    return this.encoderCallbacks;
  }
  override decodeHeaders(_h: HeaderMap, end: boolean) {
    this.log.push(`${this.name}.dh${end ? ":end" : ""}`);
    return this.script.decodeHeaders ?? HeadersStatus.Continue;
  }
  override decodeData(d: BodyBuffer, end: boolean) {
    this.log.push(`${this.name}.dd:${td.decode(d.slice())}${end ? ":end" : ""}`);
    const s = this.script.decodeData;
    return typeof s === "function" ? s(d, end) : (s ?? DataStatus.Continue);
  }
  override decodeTrailers(_t: HeaderMap) {
    this.log.push(`${this.name}.dt`);
    return this.script.decodeTrailers ?? TrailersStatus.Continue;
  }
  override encodeHeaders(_h: HeaderMap, end: boolean) {
    this.log.push(`${this.name}.eh${end ? ":end" : ""}`);
    return this.script.encodeHeaders ?? HeadersStatus.Continue;
  }
  override encodeData(d: BodyBuffer, end: boolean) {
    this.log.push(`${this.name}.ed:${td.decode(d.slice())}${end ? ":end" : ""}`);
    return this.script.encodeData ?? DataStatus.Continue;
  }
  override encodeTrailers(_t: HeaderMap) {
    this.log.push(`${this.name}.et`);
    return this.script.encodeTrailers ?? TrailersStatus.Continue;
  }
  override onStreamComplete() {
    this.log.push(`${this.name}.complete`);
  }
  override onDestroy() {
    this.log.push(`${this.name}.destroy`);
  }
}

/** A stand-in terminal filter: records the request, answers when the request ends. */
class Terminal extends ScriptedFilter {
  body = "";
  respond = true;
  override decodeHeaders(h: HeaderMap, end: boolean) {
    super.decodeHeaders(h, end);
    if (end) this.reply();
    return HeadersStatus.StopIteration;
  }
  override decodeData(d: BodyBuffer, end: boolean) {
    super.decodeData(d, end);
    this.body += td.decode(d.slice());
    if (end) this.reply();
    return DataStatus.StopIterationNoBuffer;
  }
  override decodeTrailers(t: HeaderMap) {
    super.decodeTrailers(t);
    this.reply();
    return TrailersStatus.StopIteration;
  }
  reply() {
    if (!this.respond) return;
    this.dec.encodeHeaders(new HeaderMap([[":status", "200"]]), false);
    this.dec.encodeData(new BodyBuffer(te.encode(`echo:${this.body}`)), true);
  }
}

function setup(scripts: Script[], opts: { bufferLimit?: number; grpc?: boolean } = {}) {
  const log: string[] = [];
  const filters = scripts.map((s, i) => new ScriptedFilter(`f${i}`, log, s));
  const terminal = new Terminal("t", log);
  const sink = new RecordingSink();
  const fm = new FilterManager({
    filters: [...filters, terminal] as StreamFilter[],
    streamInfo: new StreamInfo(),
    streamId: 1n,
    bufferLimit: opts.bufferLimit ?? 1024 * 1024,
    sink,
    resolveRoute: () => ({ routeName: "r", virtualHostName: "v", clusterName: "c", timeoutMs: 15000 }),
  });
  const req = new HeaderMap([
    [":method", "POST"],
    [":path", "/svc/M"],
    [":authority", "x"],
    [":scheme", "http"],
  ]);
  if (opts.grpc) req.add("content-type", "application/grpc");
  return { log, filters, terminal, sink, fm, req };
}

const chunk = (s: string) => te.encode(s);

describe("filter manager: decode iteration", () => {
  it("runs decode in order, encode in reverse, then onStreamComplete and onDestroy for all", () => {
    const { log, fm, req, sink } = setup([{}, {}]);
    fm.decodeHeaders(req, false);
    fm.decodeData(chunk("a"), true);
    expect(log).toEqual([
      "f0.dh", "f1.dh", "t.dh", "f0.dd:a:end", "f1.dd:a:end", "t.dd:a:end",
      "t.eh", "f1.eh", "f0.eh", "t.ed:echo:a:end", "f1.ed:echo:a:end", "f0.ed:echo:a:end",
      "f0.complete", "f1.complete", "t.complete", "f0.destroy", "f1.destroy", "t.destroy",
    ]);
    expect(sink.events).toEqual(["headers:200", "data:echo:a:end"]);
  });

  it("StopIteration on headers: the stopped filter still gets data; data Continue resumes headers then data", () => {
    const { log, fm, req, sink } = setup([{ decodeHeaders: HeadersStatus.StopIteration }, {}]);
    fm.decodeHeaders(req, false);
    expect(log).toEqual(["f0.dh"]);
    fm.decodeData(chunk("a"), false);
    expect(log.slice(1)).toEqual(["f0.dd:a", "f1.dh", "t.dh", "f1.dd:a", "t.dd:a"]);
    fm.decodeData(chunk("b"), true);
    expect(sink.body).toBe("echo:ab");
  });

  it("StopIteration then continueDecoding with a complete header-only request ends the stream on headers", () => {
    const { log, fm, req, filters, sink } = setup([{ decodeHeaders: HeadersStatus.StopIteration }]);
    fm.decodeHeaders(req, true);
    expect(log).toEqual(["f0.dh:end"]);
    filters[0]!.dec.continueDecoding();
    expect(log).toContain("t.dh:end");
    expect(sink.body).toBe("echo:");
  });

  it("StopAllIterationAndBuffer: data is buffered, not delivered, then delivered starting with the stopped filter", () => {
    const { log, fm, req, filters, sink } = setup([{}, { decodeHeaders: HeadersStatus.StopAllIterationAndBuffer }]);
    fm.decodeHeaders(req, false);
    fm.decodeData(chunk("a"), false);
    fm.decodeData(chunk("b"), false);
    const tr = new HeaderMap([["x-t", "1"]]);
    fm.decodeTrailers(tr);
    expect(log).toEqual(["f0.dh", "f1.dh", "f0.dd:a", "f0.dd:b", "f0.dt"]);
    expect(filters[1]!.dec.decodingBuffer()?.length).toBe(2);
    filters[1]!.dec.continueDecoding();
    expect(log.slice(5, 10)).toEqual(["t.dh", "f1.dd:ab", "t.dd:ab", "f1.dt", "t.dt"]);
    expect(sink.body).toBe("echo:ab");
  });

  it("StopAllIterationAndBuffer over the limit: local 413 request_payload_too_large", () => {
    const { fm, req, sink } = setup([{ decodeHeaders: HeadersStatus.StopAllIterationAndBuffer }], { bufferLimit: 4 });
    fm.decodeHeaders(req, false);
    fm.decodeData(chunk("abc"), false);
    expect(sink.events).toEqual([]);
    fm.decodeData(chunk("de"), false);
    expect(sink.headers?.get(":status")).toBe("413");
    expect(sink.body).toBe("Payload Too Large");
    expect(sink.headers?.get("content-type")).toBe("text/plain");
    expect(fm.streamInfo.responseCodeDetails).toBe("request_payload_too_large");
  });

  it("StopAllIterationAndWatermark over the limit: flow control, no error; resumes on continue", () => {
    const { fm, req, sink, filters } = setup([{ decodeHeaders: HeadersStatus.StopAllIterationAndWatermark }], {
      bufferLimit: 4,
    });
    fm.decodeHeaders(req, false);
    fm.decodeData(chunk("abcdef"), false);
    expect(sink.readDisabled).toBe(1);
    expect(sink.events).toEqual([]);
    filters[0]!.dec.continueDecoding();
    expect(sink.readDisabled).toBe(0);
    fm.decodeData(chunk("g"), true);
    expect(sink.body).toBe("echo:abcdefg");
  });

  it("DataStatus.StopIterationAndBuffer: called again per chunk, decodingBuffer holds the accumulated body", () => {
    const seen: number[] = [];
    const { fm, req, sink, filters } = setup([]);
    filters.length = 0;
    const log: string[] = [];
    const buffering = new ScriptedFilter("b", log, {
      decodeData: (d, end) => {
        seen.push(d.length + (buffering.dec.decodingBuffer()?.length ?? 0));
        return end ? DataStatus.Continue : DataStatus.StopIterationAndBuffer;
      },
    });
    const terminal = new Terminal("t", log);
    const fm2 = new FilterManager({
      filters: [buffering, terminal],
      streamInfo: new StreamInfo(),
      streamId: 2n,
      bufferLimit: 1024,
      sink,
      resolveRoute: () => undefined,
    });
    void fm;
    fm2.decodeHeaders(req, false);
    fm2.decodeData(chunk("ab"), false);
    fm2.decodeData(chunk("cd"), false);
    fm2.decodeData(chunk("e"), true);
    expect(seen).toEqual([2, 4, 5]);
    expect(log.filter((l) => l.startsWith("t.dd"))).toEqual(["t.dd:abcde:end"]);
    expect(sink.body).toBe("echo:abcde");
  });

  it("DataStatus.StopIterationAndBuffer over the limit: 413", () => {
    const { fm, req, sink } = setup([{ decodeData: DataStatus.StopIterationAndBuffer }], { bufferLimit: 3 });
    fm.decodeHeaders(req, false);
    fm.decodeData(chunk("ab"), false);
    fm.decodeData(chunk("cd"), false);
    expect(sink.headers?.get(":status")).toBe("413");
  });

  it("StopIterationNoBuffer drops the chunk; continue on the last frame still ends the stream", () => {
    const { fm, req, sink, filters, log } = setup([{ decodeData: DataStatus.StopIterationNoBuffer }]);
    fm.decodeHeaders(req, false);
    fm.decodeData(chunk("ab"), true);
    expect(sink.events).toEqual([]);
    filters[0]!.dec.continueDecoding();
    expect(log).toContain("t.dd::end");
    expect(sink.body).toBe("echo:");
  });

  it("trailers StopIteration then continue; addDecodedTrailers on the last data frame", () => {
    const { fm, req, filters, log } = setup([{ decodeTrailers: TrailersStatus.StopIteration }]);
    fm.decodeHeaders(req, false);
    fm.decodeTrailers(new HeaderMap([["a", "b"]]));
    expect(log).toEqual(["f0.dh", "t.dh", "f0.dt"]);
    filters[0]!.dec.continueDecoding();
    expect(log[3]).toBe("t.dt");

    const s2 = setup([
      {
        decodeData: (_d, end) => {
          if (end) s2.filters[0]!.dec.addDecodedTrailers().add("x-added", "1");
          return DataStatus.Continue;
        },
      },
    ]);
    s2.fm.decodeHeaders(s2.req, false);
    s2.fm.decodeData(chunk("z"), true);
    expect(s2.log.slice(0, 5)).toEqual(["f0.dh", "t.dh", "f0.dd:z:end", "t.dd:z", "t.dt"]);
    expect(s2.fm.streamInfo.requestTrailers?.get("x-added")).toBe("1");
    expect(() => s2.filters[0]!.dec.addDecodedTrailers()).toThrow();
  });

  it("ContinueAndEndStream: later filters see end_stream on headers and no body", () => {
    const { fm, req, log, terminal } = setup([{ decodeHeaders: HeadersStatus.ContinueAndEndStream }]);
    terminal.respond = false;
    fm.decodeHeaders(req, false);
    fm.decodeData(chunk("a"), true);
    expect(log.slice(0, 2)).toEqual(["f0.dh", "t.dh:end"]);
    expect(log).toContain("f0.dd:a:end");
    expect(log.filter((l) => l.startsWith("t.dd"))).toEqual([]);
  });
});

describe("filter manager: encode iteration", () => {
  it("encode StopIteration buffers the body until continueEncoding", () => {
    const { fm, req, sink, filters } = setup([{ encodeHeaders: HeadersStatus.StopIteration, encodeData: DataStatus.StopIterationAndBuffer }]);
    fm.decodeHeaders(req, true);
    expect(sink.events).toEqual([]);
    expect(filters[0]!.enc.encodingBuffer()?.length).toBe(5);
    filters[0]!.enc.continueEncoding();
    expect(sink.events).toEqual(["headers:200", "data:echo::end"]);
  });

  it("encode buffer over the limit after headers entered the chain: 500 sent directly (bypassing filters)", () => {
    const { fm, req, sink, log } = setup([{ encodeData: DataStatus.StopIterationAndBuffer }], { bufferLimit: 2 });
    fm.decodeHeaders(req, true);
    expect(sink.headers?.get(":status")).toBe("200");
    // headers were already downstream: the stream is reset
    expect(sink.events.at(-1)).toBe("reset");
    void log;
    const s2 = setup([{ encodeHeaders: HeadersStatus.StopIteration, encodeData: DataStatus.StopIterationAndBuffer }], {
      bufferLimit: 2,
    });
    s2.fm.decodeHeaders(s2.req, true);
    expect(s2.sink.events).toEqual(["headers:500", "data:Internal Server Error:end"]);
    expect(s2.fm.streamInfo.responseCodeDetails).toBe("response_payload_too_large");
    expect(s2.log.filter((l) => l === "f0.eh").length).toBe(1);
  });

  it("encode trailers pass through in reverse order", () => {
    const { fm, req, sink, terminal, log } = setup([{}]);
    terminal.respond = false;
    fm.decodeHeaders(req, true);
    terminal.dec.encodeHeaders(new HeaderMap([[":status", "200"]]), false);
    terminal.dec.encodeData(new BodyBuffer(chunk("x")), false);
    terminal.dec.encodeTrailers(new HeaderMap([["grpc-status", "0"]]));
    expect(sink.events).toEqual(["headers:200", "data:x", "trailers"]);
    expect(log.filter((l) => l.endsWith(".et"))).toEqual(["t.et", "f0.et"]);
    expect(fm.streamInfo.grpcStatus).toBe(0);
  });
});

describe("filter manager: local replies", () => {
  it("plain HTTP local reply: status, text/plain body, content-length, details with _ ", () => {
    const { fm, req, sink, filters, log } = setup([{ decodeHeaders: HeadersStatus.StopIteration }]);
    fm.decodeHeaders(req, true);
    filters[0]!.dec.sendLocalReply({ status: 403, body: "denied", details: "rbac access denied", flag: "UAEX" });
    expect(sink.headers?.pairs()).toEqual([
      [":status", "403"],
      ["content-length", "6"],
      ["content-type", "text/plain"],
    ]);
    expect(sink.body).toBe("denied");
    expect(fm.streamInfo.responseCodeDetails).toBe("rbac_access_denied");
    expect(fm.streamInfo.responseFlagsString()).toBe("UAEX");
    // only the filter that saw decodeHeaders encodes the reply; the terminal never saw the request
    expect(log).toEqual(["f0.dh:end", "f0.eh", "f0.ed:denied:end", "f0.complete", "t.complete", "f0.destroy", "t.destroy"]);
  });

  it("gRPC local reply is trailers-only with a mapped grpc-status and percent-encoded grpc-message", () => {
    const { fm, req, sink, filters } = setup([{ decodeHeaders: HeadersStatus.StopIteration }], { grpc: true });
    fm.decodeHeaders(req, false);
    filters[0]!.dec.sendLocalReply({ status: 503, body: "no upstream: 100%\n", details: "x" });
    expect(sink.events).toEqual(["headers:200:end"]);
    expect(sink.headers?.pairs()).toEqual([
      [":status", "200"],
      ["content-type", "application/grpc"],
      ["grpc-status", "14"],
      ["grpc-message", "no upstream: 100%25"],
    ]);
  });

  it("explicit grpc status wins; out-of-range status is mapped from HTTP", () => {
    const a = setup([{ decodeHeaders: HeadersStatus.StopIteration }], { grpc: true });
    a.fm.decodeHeaders(a.req, true);
    a.filters[0]!.dec.sendLocalReply({ status: 401, grpcStatus: 16, details: "d" });
    expect(a.sink.headers?.get("grpc-status")).toBe("16");
    expect(a.sink.headers?.has("grpc-message")).toBe(false);
    const b = setup([{ decodeHeaders: HeadersStatus.StopIteration }], { grpc: true });
    b.fm.decodeHeaders(b.req, true);
    b.filters[0]!.dec.sendLocalReply({ status: 403, grpcStatus: -1, details: "d" });
    expect(b.sink.headers?.get("grpc-status")).toBe("7");
  });

  it("a second local reply while the first passes the encoder chain is ignored", () => {
    const log: string[] = [];
    const sink = new RecordingSink();
    let second: boolean | undefined;
    class Replier extends ScriptedFilter {
      override decodeHeaders() {
        this.dec.sendLocalReply({ status: 401, body: "first", details: "one" });
        return HeadersStatus.StopIteration;
      }
      override encodeHeaders(h: HeaderMap, e: boolean) {
        second = this.enc.sendLocalReply({ status: 500, body: "second", details: "two" });
        return super.encodeHeaders(h, e);
      }
    }
    const fm = new FilterManager({
      filters: [new Replier("r", log), new Terminal("t", log)],
      streamInfo: new StreamInfo(),
      streamId: 1n,
      bufferLimit: 100,
      sink,
      resolveRoute: () => undefined,
    });
    fm.decodeHeaders(new HeaderMap([[":path", "/"]]), true);
    expect(second).toBe(false);
    expect(sink.events).toEqual(["headers:401", "data:first:end"]);
    expect(fm.streamInfo.responseCodeDetails).toBe("one");
  });

  it("after response headers went downstream a local reply resets the stream", () => {
    const { fm, req, sink, terminal, filters } = setup([{}]);
    terminal.respond = false;
    fm.decodeHeaders(req, true);
    terminal.dec.encodeHeaders(new HeaderMap([[":status", "200"]]), false);
    expect(filters[0]!.dec.sendLocalReply({ status: 500, details: "late" })).toBe(false);
    expect(sink.events).toEqual(["headers:200", "reset"]);
  });

  it("downstream reset destroys every filter once", () => {
    const { fm, req, log } = setup([{ decodeHeaders: HeadersStatus.StopIteration }]);
    fm.decodeHeaders(req, false);
    fm.onDownstreamReset("http2.remote_reset", false);
    fm.onDownstreamReset("again", false);
    expect(log).toEqual(["f0.dh", "f0.complete", "t.complete", "f0.destroy", "t.destroy"]);
    expect(fm.streamInfo.responseCodeDetails).toBe("http2.remote_reset");
  });
});
