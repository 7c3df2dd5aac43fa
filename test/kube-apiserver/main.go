// Command kube-apiserver-harness runs a real Kubernetes API server for meshwasm's
// tests: kube-apiserver from k8s.io/kubernetes (in-process, as its own command
// runs it) on 127.0.0.1, etcd embedded from go.etcd.io/etcd/server/v3, fresh
// certificates, and the Istio CRDs of the pinned istio.io/api applied and
// Established. No controllers run: Deployments create no Pods, nothing is garbage
// collected, namespaces stay Terminating.
//
// Contract: when the server is ready it prints exactly one JSON line on stdout
// (see readyLine) and nothing else; logs go to stderr. It stops cleanly, removing
// its directory, on SIGTERM, SIGINT or when its standard input closes (so it never
// outlives the process that started it). Exit status 0 after a clean stop, 1 if
// it could not start or the API server failed; the reason is the last line on stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// repeatedFlag collects every value of a flag given several times.
type repeatedFlag []string

func (r *repeatedFlag) String() string     { return strings.Join(*r, ",") }
func (r *repeatedFlag) Set(v string) error { *r = append(*r, v); return nil }

type harnessOptions struct {
	Dir              string
	ShortLivedTTL    time.Duration
	CRDFiles         repeatedFlag
	APIServerArgs    repeatedFlag
	ExitOnStdinClose bool
}

func parseOptions(args []string) (*harnessOptions, error) {
	options := &harnessOptions{}
	flags := flag.NewFlagSet("kube-apiserver-harness", flag.ContinueOnError)
	flags.StringVar(&options.Dir, "dir", "", "an empty or new directory for etcd data, certificates and the kubeconfig, kept at exit (default: a new temporary directory, removed at exit)")
	flags.DurationVar(&options.ShortLivedTTL, "short-lived-ttl", 5*time.Second, "validity of the short-lived client certificate, counted from start")
	flags.Var(&options.CRDFiles, "crd-file", "a YAML file of more CustomResourceDefinitions to apply after the Istio ones (repeatable)")
	flags.Var(&options.APIServerArgs, "apiserver-arg", "an extra kube-apiserver flag, e.g. --apiserver-arg=--v=2 (repeatable)")
	flags.BoolVar(&options.ExitOnStdinClose, "exit-on-stdin-close", true, "stop when standard input reaches end of file")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if flags.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	if options.ShortLivedTTL <= 0 {
		return nil, fmt.Errorf("--short-lived-ttl must be positive, got %s", options.ShortLivedTTL)
	}
	return options, nil
}

func main() {
	options, err := parseOptions(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if options.ExitOnStdinClose {
		ctx = cancelOnStdinClose(ctx)
	}
	if err := run(ctx, options); err != nil {
		fail(err)
	}
}

func run(ctx context.Context, options *harnessOptions) error {
	started := time.Now()
	h, err := startHarness(ctx, options)
	if err != nil {
		if h != nil {
			h.shutdown()
		}
		return err
	}
	defer h.shutdown()

	ready := h.readyLine(time.Since(started))
	line, err := json.Marshal(ready)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(os.Stdout, "%s\n", line); err != nil {
		return err
	}

	select {
	case <-ctx.Done():
		return nil
	case err := <-h.apiServerDone:
		if err == nil {
			err = errors.New("stopped by itself")
		}
		return fmt.Errorf("kube-apiserver: %w", err)
	case err := <-h.etcd.Err():
		return fmt.Errorf("etcd: %w", err)
	}
}

// cancelOnStdinClose returns a context cancelled when standard input ends.
func cancelOnStdinClose(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "kube-apiserver-harness: %v\n", err)
	os.Exit(1)
}
