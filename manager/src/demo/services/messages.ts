/**
 * TypeScript shapes of the demo messages as @grpc/proto-loader presents them
 * (camelCase fields, bytes as Buffer, enums as names, defaults filled in).
 */

export interface EchoRequest {
  message?: string;
  repeat?: number;
  payload?: Buffer | Uint8Array;
  failWithCode?: number;
  delayMs?: number;
}

export interface EchoReply {
  message: string;
  servedBy: string;
  payload: Buffer;
  receivedMetadata: Record<string, string>;
  sequence: number;
}

export interface Item {
  sku: string;
  name: string;
  quantity: number;
  servedBy: string;
}

export interface GetItemRequest {
  sku: string;
}

export interface ListItemsRequest {
  limit?: number;
}

export interface ReserveItemRequest {
  sku: string;
  quantity: number;
}

export interface Reservation {
  reservationId: string;
  sku: string;
  quantity: number;
  remaining: number;
  servedBy: string;
}

export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

export interface HealthCheckRequest {
  service?: string;
}

export interface HealthCheckResponse {
  status: ServingStatus;
}

/** Metadata key every backend sets in its trailers: the backend's name. */
export const SERVED_BY_TRAILER = "x-served-by";
