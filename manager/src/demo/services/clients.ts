/**
 * Demo clients (Echo, Inventory, Health) sharing ONE grpc-js channel, hence one HTTP/2
 * connection to the target, plus promise helpers for unary calls and stream collection.
 */
import * as grpc from "@grpc/grpc-js";
import type {
  EchoReply,
  EchoRequest,
  GetItemRequest,
  HealthCheckRequest,
  HealthCheckResponse,
  Item,
  ListItemsRequest,
  Reservation,
  ReserveItemRequest,
} from "./messages.ts";
import { loadDemoProtos } from "./protos.ts";

type Callback<Res> = (err: grpc.ServiceError | null, res?: Res) => void;
export type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: Callback<Res>,
) => grpc.ClientUnaryCall;
export type ServerStreamMethod<Req, Res> = (
  req: Req,
  metadata?: grpc.Metadata,
  options?: grpc.CallOptions,
) => grpc.ClientReadableStream<Res>;
export type ClientStreamMethod<Req, Res> = (
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: Callback<Res>,
) => grpc.ClientWritableStream<Req>;
export type BidiMethod<Req, Res> = (
  metadata?: grpc.Metadata,
  options?: grpc.CallOptions,
) => grpc.ClientDuplexStream<Req, Res>;

export interface EchoClient extends grpc.Client {
  Unary: UnaryMethod<EchoRequest, EchoReply>;
  ServerStream: ServerStreamMethod<EchoRequest, EchoReply>;
  ClientStream: ClientStreamMethod<EchoRequest, EchoReply>;
  Bidi: BidiMethod<EchoRequest, EchoReply>;
}

export interface InventoryClient extends grpc.Client {
  GetItem: UnaryMethod<GetItemRequest, Item>;
  ListItems: ServerStreamMethod<ListItemsRequest, Item>;
  ReserveItem: UnaryMethod<ReserveItemRequest, Reservation>;
}

export interface HealthClient extends grpc.Client {
  Check: UnaryMethod<HealthCheckRequest, HealthCheckResponse>;
  Watch: ServerStreamMethod<HealthCheckRequest, HealthCheckResponse>;
}

/** Per-call options of the promise helpers. */
export interface CallOpts {
  metadata?: grpc.Metadata | Record<string, string>;
  /** Deadline relative to now. */
  deadlineMs?: number;
}

export interface DemoClientsOptions {
  /** Default: insecure (h2c). */
  credentials?: grpc.ChannelCredentials;
  /** Extra grpc-js channel options (merged over the one-connection defaults). */
  channelOptions?: grpc.ChannelOptions;
  maxMessageBytes?: number;
}

export interface DemoClients {
  readonly target: string;
  readonly channel: grpc.Channel;
  readonly echo: EchoClient;
  readonly inventory: InventoryClient;
  readonly health: HealthClient;
  unary(req: EchoRequest, opts?: CallOpts): Promise<EchoReply>;
  /** Runs Echo/ServerStream and collects every reply. */
  serverStream(req: EchoRequest, opts?: CallOpts): Promise<EchoReply[]>;
  clientStream(reqs: EchoRequest[], opts?: CallOpts): Promise<EchoReply>;
  /** Sends every request on Echo/Bidi, half-closes, collects every reply. */
  bidi(reqs: EchoRequest[], opts?: CallOpts): Promise<EchoReply[]>;
  getItem(req: GetItemRequest, opts?: CallOpts): Promise<Item>;
  listItems(req: ListItemsRequest, opts?: CallOpts): Promise<Item[]>;
  reserveItem(req: ReserveItemRequest, opts?: CallOpts): Promise<Reservation>;
  check(service?: string, opts?: CallOpts): Promise<HealthCheckResponse>;
  /** Closes the channel (and so the connection). */
  close(): void;
}

/**
 * Channel options that keep every call on one HTTP/2 connection: pick_first (the
 * default) over a subchannel this channel does not share with other channels.
 */
export const ONE_CONNECTION_OPTIONS: grpc.ChannelOptions = {
  "grpc.use_local_subchannel_pool": 1,
  "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ pick_first: {} }] }),
};

export function createDemoClients(target: string, opts: DemoClientsOptions = {}): DemoClients {
  const protos = loadDemoProtos();
  const credentials = opts.credentials ?? grpc.credentials.createInsecure();
  const options: grpc.ChannelOptions = { ...ONE_CONNECTION_OPTIONS, ...opts.channelOptions };
  if (opts.maxMessageBytes !== undefined) {
    options["grpc.max_receive_message_length"] = opts.maxMessageBytes;
    options["grpc.max_send_message_length"] = opts.maxMessageBytes;
  }
  const channel = new grpc.Channel(target, credentials, options);
  const make = <C>(ctor: grpc.ServiceClientConstructor): C =>
    new ctor(target, credentials, { channelOverride: channel }) as unknown as C;
  const echo = make<EchoClient>(protos.echo);
  const inventory = make<InventoryClient>(protos.inventory);
  const health = make<HealthClient>(protos.health);

  return {
    target,
    channel,
    echo,
    inventory,
    health,
    unary: (req, o) => callUnary(echo, echo.Unary, req, o),
    serverStream: (req, o) => collect(echo.ServerStream.call(echo, req, toMetadata(o), callOptions(o))),
    clientStream: (reqs, o) =>
      new Promise((resolve, reject) => {
        const call = echo.ClientStream(toMetadata(o), callOptions(o), (err, res) =>
          err ? reject(err) : resolve(res as EchoReply),
        );
        for (const r of reqs) call.write(r);
        call.end();
      }),
    bidi: (reqs, o) => {
      const call = echo.Bidi(toMetadata(o), callOptions(o));
      const replies = collect(call);
      for (const r of reqs) call.write(r);
      call.end();
      return replies;
    },
    getItem: (req, o) => callUnary(inventory, inventory.GetItem, req, o),
    listItems: (req, o) => collect(inventory.ListItems.call(inventory, req, toMetadata(o), callOptions(o))),
    reserveItem: (req, o) => callUnary(inventory, inventory.ReserveItem, req, o),
    check: (service = "", o) => callUnary(health, health.Check, { service }, o),
    close: () => {
      echo.close();
      inventory.close();
      health.close();
      channel.close();
    },
  };
}

export function toMetadata(o?: CallOpts): grpc.Metadata {
  if (!o?.metadata) return new grpc.Metadata();
  if (o.metadata instanceof grpc.Metadata) return o.metadata;
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(o.metadata)) md.set(k, v);
  return md;
}

export function callOptions(o?: CallOpts): grpc.CallOptions {
  return o?.deadlineMs !== undefined ? { deadline: Date.now() + o.deadlineMs } : {};
}

function callUnary<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  req: Req,
  o?: CallOpts,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, toMetadata(o), callOptions(o), (err, res) =>
      err ? reject(err) : resolve(res as Res),
    );
  });
}

/** Collects a readable call's messages; rejects with the call's error status. */
export function collect<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>) {
  return new Promise<T[]>((resolve, reject) => {
    const out: T[] = [];
    call.on("data", (m: T) => out.push(m));
    call.on("error", reject);
    call.on("end", () => resolve(out));
  });
}
