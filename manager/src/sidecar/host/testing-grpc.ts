/**
 * A scripted gRPC dispatcher for host tests (the test side of Envoy's Grpc::AsyncClient): every
 * stream a plugin opens is recorded as a FakeGrpcStream; the test answers it with
 * `initialMetadata`, `message`, `trailers` and `close`, each delivered through the VirtualClock's
 * posted queue (never synchronously; nothing after the plugin cancels). `reply()` scripts a whole
 * normal response: headers, messages, trailers with grpc-status, close.
 */
import type { HeaderPair } from "../http/header-map.ts";
import type { GrpcCallDispatcher, GrpcStreamCallbacks, GrpcStreamHandle, GrpcStreamRequest } from "./api.ts";
import type { VirtualClock } from "./clock.ts";

export class FakeGrpcStream {
  /** What the plugin sent: messages (without prefix) and their end_stream flags. */
  readonly sent: Array<{ message: Uint8Array; endStream: boolean }> = [];
  halfClosed = false;
  cancelled = false;
  closed = false;

  constructor(
    readonly request: GrpcStreamRequest,
    private readonly cb: GrpcStreamCallbacks,
    private readonly clock: VirtualClock,
  ) {}

  private post(fn: () => void): void {
    this.clock.post(() => {
      if (!this.cancelled && !this.closed) fn();
    });
  }

  initialMetadata(md: HeaderPair[]): void {
    this.post(() => this.cb.onInitialMetadata(md));
  }
  message(msg: Uint8Array | string): void {
    const bytes = typeof msg === "string" ? new TextEncoder().encode(msg) : msg;
    this.post(() => this.cb.onMessage(bytes));
  }
  trailers(md: HeaderPair[]): void {
    this.post(() => this.cb.onTrailingMetadata(md));
  }
  close(status: number, message = ""): void {
    this.post(() => {
      this.closed = true;
      this.cb.onClose(status, message);
    });
  }

  /** A whole response: initial metadata, the messages, trailers with grpc-status, close. */
  reply(r: { messages?: Array<Uint8Array | string>; status?: number; message?: string; initial?: HeaderPair[]; trailers?: HeaderPair[] } = {}): void {
    const status = r.status ?? 0;
    this.initialMetadata(r.initial ?? [[":status", "200"], ["content-type", "application/grpc"]]);
    for (const m of r.messages ?? []) this.message(m);
    const trailers: HeaderPair[] = [["grpc-status", String(status)], ...(r.message ? [["grpc-message", r.message] as HeaderPair] : [])];
    this.trailers([...trailers, ...(r.trailers ?? [])]);
    this.close(status, r.message ?? "");
  }

  handle(): GrpcStreamHandle {
    return {
      send: (message, endStream) => {
        this.sent.push({ message, endStream });
        if (endStream) this.halfClosed = true;
      },
      closeSend: () => {
        this.halfClosed = true;
      },
      cancel: () => {
        this.cancelled = true;
      },
    };
  }
}

export class FakeGrpcCalls implements GrpcCallDispatcher {
  readonly streams: FakeGrpcStream[] = [];
  private readonly clusters = new Map<string, ((s: FakeGrpcStream) => void) | undefined>();

  constructor(private readonly clock: VirtualClock) {}

  /** A known cluster; `onStream` sees each new stream (to script answers up front). */
  addCluster(name: string, onStream?: (s: FakeGrpcStream) => void): void {
    this.clusters.set(name, onStream);
  }

  hasCluster(name: string): boolean {
    return this.clusters.has(name);
  }

  grpcStream(request: GrpcStreamRequest, callbacks: GrpcStreamCallbacks): GrpcStreamHandle {
    const s = new FakeGrpcStream(request, callbacks, this.clock);
    this.streams.push(s);
    this.clusters.get(request.cluster)?.(s);
    return s.handle();
  }
}
