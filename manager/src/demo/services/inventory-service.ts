/**
 * Inventory service handlers over a small in-memory stock, one per backend: GetItem
 * (NOT_FOUND for an unknown sku), ListItems (server stream), ReserveItem (INVALID_ARGUMENT
 * for a non-positive quantity, FAILED_PRECONDITION when stock is short).
 */
import * as grpc from "@grpc/grpc-js";
import {
  type BackendState,
  injectedFailure,
  servedByTrailer,
  statusError,
  trackCall,
} from "./backend-state.ts";
import { writeMessage } from "./echo-service.ts";
import type {
  GetItemRequest,
  Item,
  ListItemsRequest,
  Reservation,
  ReserveItemRequest,
} from "./messages.ts";

/** Stock every backend starts with. */
export const DEMO_ITEMS: ReadonlyArray<{ sku: string; name: string; quantity: number }> = [
  { sku: "sku-001", name: "espresso beans 1kg", quantity: 40 },
  { sku: "sku-002", name: "oat milk 1l", quantity: 120 },
  { sku: "sku-003", name: "paper cups x100", quantity: 15 },
  { sku: "sku-004", name: "grinder burr set", quantity: 3 },
  { sku: "sku-005", name: "descaler", quantity: 0 },
];

export function inventoryHandlers(state: BackendState): grpc.UntypedServiceImplementation {
  const stock = new Map(DEMO_ITEMS.map((i) => [i.sku, { ...i }]));
  let reservations = 0;
  const toItem = (i: { sku: string; name: string; quantity: number }): Item => ({
    ...i,
    servedBy: state.name,
  });

  const getItem = async (
    call: grpc.ServerUnaryCall<GetItemRequest, Item>,
    callback: grpc.sendUnaryData<Item>,
  ) => {
    const t = trackCall(state, "Inventory/GetItem", call);
    try {
      if (!(await t.wait())) return;
      if (t.injectFailure) return callback(injectedFailure(state));
      const item = stock.get(call.request.sku);
      if (!item) {
        return callback(statusError(state, grpc.status.NOT_FOUND, `no item ${call.request.sku}`));
      }
      callback(null, toItem(item), servedByTrailer(state));
    } finally {
      t.finish();
    }
  };

  const listItems = async (call: grpc.ServerWritableStream<ListItemsRequest, Item>) => {
    const t = trackCall(state, "Inventory/ListItems", call);
    try {
      if (!(await t.wait())) return;
      if (t.injectFailure) return void call.emit("error", injectedFailure(state));
      const limit = call.request.limit ?? 0;
      const items = [...stock.values()].slice(0, limit > 0 ? limit : undefined);
      for (const item of items) {
        await writeMessage(call, toItem(item), t.signal);
        if (call.cancelled) return;
      }
      call.end(servedByTrailer(state));
    } finally {
      t.finish();
    }
  };

  const reserveItem = async (
    call: grpc.ServerUnaryCall<ReserveItemRequest, Reservation>,
    callback: grpc.sendUnaryData<Reservation>,
  ) => {
    const t = trackCall(state, "Inventory/ReserveItem", call);
    try {
      if (!(await t.wait())) return;
      if (t.injectFailure) return callback(injectedFailure(state));
      const { sku, quantity } = call.request;
      const item = stock.get(sku);
      if (!item) return callback(statusError(state, grpc.status.NOT_FOUND, `no item ${sku}`));
      if (!(quantity > 0)) {
        return callback(
          statusError(state, grpc.status.INVALID_ARGUMENT, `quantity must be > 0, got ${quantity}`),
        );
      }
      if (item.quantity < quantity) {
        return callback(
          statusError(
            state,
            grpc.status.FAILED_PRECONDITION,
            `only ${item.quantity} of ${sku} left, ${quantity} requested`,
          ),
        );
      }
      item.quantity -= quantity;
      reservations++;
      callback(
        null,
        {
          reservationId: `${state.name}-r${reservations}`,
          sku,
          quantity,
          remaining: item.quantity,
          servedBy: state.name,
        },
        servedByTrailer(state),
      );
    } finally {
      t.finish();
    }
  };

  return { GetItem: getItem, ListItems: listItems, ReserveItem: reserveItem };
}
