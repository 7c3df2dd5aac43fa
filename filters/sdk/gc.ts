/**
 * How often the SDK collects garbage. `abi/exports.ts` runs `__collect()` at the end of every
 * `collectInterval()`-th host callback (the only point where no managed reference is on the Wasm
 * stack; minimal runtime, mark & sweep). A collection marks every live object, so its cost grows
 * with the filter's long-lived state, while the garbage between two collections grows with the
 * interval: a filter holding thousands of objects (metric series, tables) collects less often,
 * trading some memory for CPU. Default 64 callbacks (about 7 unary RPCs).
 */
// @ts-ignore: decorator
@lazy let interval: u32 = 64;

/** Callbacks between two collections. */
export function collectInterval(): u32 { return interval; }

/** Sets the callbacks between two collections (at least 1); call it from onConfigure. */
export function setCollectInterval(callbacks: u32): void { interval = callbacks < 1 ? 1 : callbacks; }
