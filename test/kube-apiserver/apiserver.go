// kube-apiserver run in-process, as the real `kube-apiserver` command runs it
// (k8s.io/kubernetes/cmd/kube-apiserver/app: options → Complete → Validate →
// NewConfig → CreateServerChain → PrepareRun().Run), with the flag set
// controller-runtime's envtest gives its API server
// (pkg/internal/testing/controlplane/apiserver.go): loopback only, RBAC, client
// certificates, no ServiceAccount admission (no controllers run to create
// service accounts). Unlike envtest it listens on a listener opened before start,
// so the secure port cannot be taken by another process in between.
package main

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/pflag"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	basecompatibility "k8s.io/component-base/compatibility"
	"k8s.io/component-base/featuregate"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"
)

// apiServerFiles are the files the API server is started with.
type apiServerFiles struct {
	CertDir           string
	ServingCert       string
	ServingKey        string
	ClientCA          string
	ServiceAccountKey string
}

// apiServerFlags is the command line the API server would be given, minus the
// listener (passed as an object): envtest's flags plus the harness's files.
func apiServerFlags(etcdURL string, port int, files apiServerFiles, extra []string) []string {
	flags := []string{
		"--etcd-servers=" + etcdURL,
		"--cert-dir=" + files.CertDir,
		"--tls-cert-file=" + files.ServingCert,
		"--tls-private-key-file=" + files.ServingKey,
		"--client-ca-file=" + files.ClientCA,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--authorization-mode=RBAC",
		"--disable-admission-plugins=ServiceAccount",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + files.ServiceAccountKey,
		"--service-account-signing-key-file=" + files.ServiceAccountKey,
		// The kubernetes Service's endpoints would be 127.0.0.1, which Endpoints
		// validation rejects (loopback); StartTestServer turns the reconciler off too.
		"--endpoint-reconciler-type=none",
	}
	return append(flags, extra...)
}

// startAPIServer parses flags as the kube-apiserver command does and runs the
// server chain until ctx is cancelled. The returned channel yields the server's
// exit error (nil after a clean shutdown) and is then closed.
func startAPIServer(ctx context.Context, listener net.Listener, flags []string) (<-chan error, error) {
	s := options.NewServerRunOptions()
	flagSet := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, named := range s.Flags().FlagSets {
		flagSet.AddFlagSet(named)
	}
	if err := flagSet.Parse(flags); err != nil {
		return nil, fmt.Errorf("kube-apiserver flags: %w", err)
	}
	s.SecureServing.Listener = listener
	s.SecureServing.BindPort = listener.Addr().(*net.TCPAddr).Port

	registry := s.GenericServerRunOptions.ComponentGlobalsRegistry
	if err := registry.Set(); err != nil {
		return nil, fmt.Errorf("kube-apiserver component globals: %w", err)
	}
	featureGate := registry.FeatureGateFor(basecompatibility.DefaultKubeComponent)
	if err := logsapi.ValidateAndApply(s.Logs, featureGate); err != nil {
		return nil, fmt.Errorf("kube-apiserver logging: %w", err)
	}
	completed, err := s.Complete(ctx)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return nil, fmt.Errorf("kube-apiserver options: %w", utilerrors.NewAggregate(errs))
	}
	featureGate.(featuregate.MutableFeatureGate).AddMetrics()
	registry.AddMetrics()

	config, err := app.NewConfig(completed)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver config: %w", err)
	}
	completedConfig, err := config.Complete()
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver config: %w", err)
	}
	server, err := app.CreateServerChain(completedConfig)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver server chain: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		defer close(done)
		prepared, err := server.PrepareRun()
		if err != nil {
			done <- err
			return
		}
		done <- prepared.Run(ctx)
	}()
	return done, nil
}
