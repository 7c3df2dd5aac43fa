#!/usr/bin/env bash
# Builds the Go proxy-wasm SDK peer of grpc-metrics with Go's own wasip1 target (Go >= 1.24 has
# the WASI reactor support the SDK needs): `build.sh <out.wasm>`. Modules come from the Go module
# proxy (go.sum pins them).
set -euo pipefail
cd "$(dirname "$0")"
out="${1:?usage: build.sh <out.wasm>}"
GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o "$out" .
