/**
 * The callbacks one filter instance gets from the filter manager: Envoy's
 * StreamDecoderFilterCallbacks and StreamEncoderFilterCallbacks (envoy/http/filter.h) for
 * one filter entry, forwarding to its FilterManager.
 *
 * - continueDecoding/continueEncoding: Envoy commonContinue for this filter.
 * - decodingBuffer/encodingBuffer: the stream's buffer for that direction (one per direction
 *   in Envoy), undefined when nothing is buffered.
 * - addDecodedTrailers/addEncodedTrailers: only while this filter handles the last data
 *   frame of a stream without trailers (Envoy asserts this; here it throws).
 * - encodeHeaders/encodeData/encodeTrailers start the response through the encoder chain.
 */
import { BodyBuffer } from "../../http/body-buffer.ts";
import type { DecoderFilterCallbacks, EncoderFilterCallbacks, LocalReply, RouteDecision } from "../../http/filter.ts";
import { HeaderMap } from "../../http/header-map.ts";
import type { SocketAddress, StreamInfo } from "../../http/stream-info.ts";
import { Side, type FilterEntry } from "./filter-entry.ts";
import type { FilterManager } from "./filter-manager.ts";

export class FilterCallbacks implements DecoderFilterCallbacks, EncoderFilterCallbacks {
  constructor(
    private readonly fm: FilterManager,
    private readonly entry: FilterEntry,
  ) {}

  get streamInfo(): StreamInfo {
    return this.fm.streamInfo;
  }
  get streamId(): bigint {
    return this.fm.streamId;
  }
  get bufferLimit(): number {
    return this.fm.bufferLimit;
  }

  sendLocalReply(reply: LocalReply): boolean {
    return this.fm.sendLocalReply(reply, this.entry);
  }
  resetStream(details: string): void {
    this.fm.resetStream(details);
  }

  continueDecoding(): void {
    this.fm.commonContinue(this.entry, Side.Decode);
  }
  continueEncoding(): void {
    this.fm.commonContinue(this.entry, Side.Encode);
  }

  decodingBuffer(): BodyBuffer | undefined {
    return this.fm.buffered[Side.Decode];
  }
  encodingBuffer(): BodyBuffer | undefined {
    return this.fm.buffered[Side.Encode];
  }

  private addTrailers(side: Side): HeaderMap {
    const fm = this.fm;
    if (fm.currentEntry !== this.entry || fm.currentSide !== side || !fm.currentLastData || fm.trailers[side]) {
      throw new Error(
        `add${side === Side.Decode ? "Decoded" : "Encoded"}Trailers is only valid while handling the last data frame of a stream without trailers`,
      );
    }
    const map = new HeaderMap();
    this.fm.trailers[side] = map;
    if (side === Side.Decode) this.fm.streamInfo.requestTrailers = map;
    else this.fm.streamInfo.responseTrailers = map;
    return map;
  }
  addDecodedTrailers(): HeaderMap {
    return this.addTrailers(Side.Decode);
  }
  addEncodedTrailers(): HeaderMap {
    return this.addTrailers(Side.Encode);
  }

  route(): RouteDecision | undefined {
    return this.fm.route();
  }
  clearRouteCache(): void {
    this.fm.clearRouteCache();
  }
  setUpstreamOverrideHost(host: SocketAddress, strict: boolean): void {
    this.fm.overrideHost = { host, strict };
  }
  upstreamOverrideHost(): { host: SocketAddress; strict: boolean } | undefined {
    return this.fm.overrideHost;
  }

  encodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.fm.encodeHeaders(this.entry, headers, endStream);
  }
  encodeData(data: BodyBuffer, endStream: boolean): void {
    this.fm.encodeData(data, endStream);
  }
  encodeTrailers(trailers: HeaderMap): void {
    this.fm.encodeTrailers(trailers);
  }

  readDisable(disable: boolean): void {
    if (!this.fm.destroyed) this.fm.sink.readDisable(disable);
  }
  onDownstreamWatermark(cb: { above(): void; below(): void }): void {
    this.fm.watermarkCallbacks.push(cb);
  }
}
