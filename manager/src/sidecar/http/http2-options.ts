/**
 * Envoy's HTTP/2 codec defaults (envoy.config.core.v3.Http2ProtocolOptions), used by the sidecar's
 * downstream and upstream codecs alike: 256 MiB initial stream and connection windows (Node's
 * default is 64 KiB, which would throttle 16 MiB gRPC messages and multiply WINDOW_UPDATE frames),
 * no server push.
 */
export const ENVOY_H2_WINDOW = 268_435_456;

/** SETTINGS_INITIAL_WINDOW_SIZE may not exceed 2^31 - 1; Envoy's default fits. */
export const ENVOY_H2_SETTINGS = { initialWindowSize: ENVOY_H2_WINDOW - 1, enablePush: false } as const;
