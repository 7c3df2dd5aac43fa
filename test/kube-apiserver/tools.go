//go:build tools

// Package main's tools file: keeps istio.io/api (the pinned source of the Istio
// CRDs that build.sh copies next to main.go for go:embed) in go.mod and go.sum
// without linking it into the harness.
package main

import _ "istio.io/api/extensions/v1alpha1"
