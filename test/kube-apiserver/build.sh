#!/usr/bin/env bash
# Builds the test kube-apiserver (this Go module) into <repo>/build/kube-apiserver-harness.
# Go's default module and build caches are used, so only the first build on a machine
# is slow. Does nothing when the binary is newer than every source of this module.
# Needs: go (the version go.mod names or newer) and the Go module proxy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/build/kube-apiserver-harness"
cd "$here"

export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"

sources=(go.mod go.sum build.sh ./*.go)
up_to_date() { [ -x "$out" ] && [ -z "$(find "${sources[@]}" -newer "$out" -print -quit)" ]; }
if up_to_date; then
  echo "kube-apiserver-harness: up to date ($out)"
  exit 0
fi

# Test files started in parallel may all ask for a build: one builds, the others wait.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if up_to_date; then
  echo "kube-apiserver-harness: up to date ($out)"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "kube-apiserver-harness: go is not installed (needed to build the test API server)" >&2; exit 1; }

# The Istio CRDs of the pinned istio.io/api (checksum-verified by go.sum), for go:embed.
go mod download istio.io/api
istio_dir="$(go list -m -f '{{.Dir}}' istio.io/api)"
istio_version="$(go list -m -f '{{.Version}}' istio.io/api)"
install -m 0644 "$istio_dir/kubernetes/customresourcedefinitions.gen.yaml" generated/istio-crds.gen.yaml

# Report the Kubernetes release the module pins, as Kubernetes' own build does.
kube_version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
kube_minor="${kube_version#v1.}"; kube_minor="${kube_minor%%.*}"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor -X $pkg.gitTreeState=clean -X main.istioAPIVersion=$istio_version"

start=$(date +%s)
go build -trimpath -ldflags "$ldflags" -o "$out.tmp" .
mv -f "$out.tmp" "$out"
echo "kube-apiserver-harness: built $out in $(( $(date +%s) - start ))s ($kube_version, $(du -h "$out" | cut -f1))"
