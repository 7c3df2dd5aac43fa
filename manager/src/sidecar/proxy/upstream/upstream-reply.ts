/**
 * The router's local replies and response flags for upstream failures, as Envoy's
 * Router::Filter::onUpstreamReset / streamResetReasonToResponseFlag: the body
 * "upstream connect error or disconnect/reset before headers. [retried and the latest ]reset
 * reason: <reason>[, transport failure reason: <tfr>]" and the details
 * "upstream_reset_before_response_started{<reason>[|<tfr>]}" (spaces as "_").
 */
import type { ResponseFlag } from "../../http/stream-info.ts";
import type { ResetReason } from "./pool/types.ts";

export function resetReasonFlag(reason: ResetReason): ResponseFlag {
  switch (reason) {
    case "local connection failure":
    case "remote connection failure":
    case "connection timeout":
      return "UF";
    case "connection termination":
      return "UC";
    case "overflow":
      return "UO";
    case "local reset":
      return "LR";
    case "protocol error":
      return "UPE";
    case "remote reset":
    case "remote refused stream reset":
      return "UR";
  }
}

export function resetReplyBody(reason: ResetReason, tfr: string, retried: boolean): string {
  return (
    "upstream connect error or disconnect/reset before headers. " +
    (retried ? "retried and the latest " : "") +
    `reset reason: ${reason}` +
    (tfr ? `, transport failure reason: ${tfr}` : "")
  );
}

export function resetReplyDetails(reason: ResetReason, tfr: string): string {
  const inner = reason + (tfr ? `|${tfr}` : "");
  return `upstream_reset_before_response_started{${inner}}`.replace(/\s/g, "_");
}
