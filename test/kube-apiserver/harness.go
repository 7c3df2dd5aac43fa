// One harness run: directory, certificates, etcd, kube-apiserver, kubeconfig and
// CRDs, started in that order and torn down in reverse. Readiness follows
// StartTestServer (k8s.io/kubernetes/cmd/kube-apiserver/app/testing): /readyz
// answers 200, then the `default` namespace exists; then the CRDs are Established.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

const (
	apiServerReadyTimeout = 2 * time.Minute
	shutdownTimeout       = 20 * time.Second
	adminContext          = "admin"
)

type harness struct {
	dir           string
	removeDir     bool
	etcd          *embed.Etcd
	etcdURL       string
	server        string
	kubeconfig    string
	identities    []clientIdentityNamed
	crdNames      []string
	cancel        context.CancelFunc
	apiServerDone <-chan error
	stopped       bool
}

// clientIdentityNamed is a kubeconfig context and the identity behind it.
type clientIdentityNamed struct {
	Context string
	clientIdentity
}

// contextInfo describes one kubeconfig context in the ready line.
type contextInfo struct {
	User     string   `json:"user"`
	Groups   []string `json:"groups"`
	NotAfter string   `json:"notAfter"`
}

// readyLine is the one line printed on stdout once the server is ready.
type readyLine struct {
	Kubeconfig     string                 `json:"kubeconfig"`
	Server         string                 `json:"server"`
	CurrentContext string                 `json:"currentContext"`
	Contexts       map[string]contextInfo `json:"contexts"`
	Etcd           string                 `json:"etcd"`
	Dir            string                 `json:"dir"`
	CRDs           []string               `json:"crds"`
	Versions       map[string]string      `json:"versions"`
	StartupMillis  int64                  `json:"startupMillis"`
	Pid            int                    `json:"pid"`
}

// startupIdentities are the client certificates made at start: an administrator,
// an administrator whose certificate has already expired, and a user with no
// RBAC bindings at all.
func startupIdentities(now time.Time) []clientIdentityNamed {
	return []clientIdentityNamed{
		{adminContext, clientIdentity{User: "meshwasm-admin", Groups: []string{"system:masters"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}},
		{"expired", clientIdentity{User: "meshwasm-expired", Groups: []string{"system:masters"}, NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)}},
		{"unprivileged", clientIdentity{User: "meshwasm-unprivileged", Groups: []string{}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}},
	}
}

// shortLivedIdentity is an administrator whose certificate, made once the server
// is ready, expires ttl later (X.509 validity has whole seconds, so NotAfter is
// truncated to the second).
func shortLivedIdentity(ready time.Time, ttl time.Duration) clientIdentityNamed {
	return clientIdentityNamed{"short-lived", clientIdentity{
		User: "meshwasm-short-lived", Groups: []string{"system:masters"},
		NotBefore: ready.Add(-time.Hour), NotAfter: ready.Add(ttl).Truncate(time.Second),
	}}
}

// startHarness brings everything up. On error the returned harness (if any)
// holds what was started so far, for shutdown. The kubeconfig is written last,
// so its existence means the server is ready.
func startHarness(parent context.Context, options *harnessOptions) (*harness, error) {
	h := &harness{dir: options.Dir}
	if h.dir == "" {
		dir, err := os.MkdirTemp("", "meshwasm-kube-apiserver-")
		if err != nil {
			return nil, err
		}
		h.dir, h.removeDir = dir, true
	} else if err := prepareEmptyDir(h.dir); err != nil {
		return nil, err
	}

	crds, err := loadCRDs(options.CRDFiles)
	if err != nil {
		return h, err
	}
	ca, files, err := h.writeServerCredentials(time.Now())
	if err != nil {
		return h, err
	}
	credentials, err := h.issueClientCertificates(ca, startupIdentities(time.Now()))
	if err != nil {
		return h, err
	}

	h.etcd, h.etcdURL, err = startEtcd(filepath.Join(h.dir, "etcd"))
	if err != nil {
		return h, err
	}

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return h, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	h.server = fmt.Sprintf("https://127.0.0.1:%d", port)

	ctx, cancel := context.WithCancel(parent)
	h.cancel = cancel
	h.apiServerDone, err = startAPIServer(ctx, listener, apiServerFlags(h.etcdURL, port, files, options.APIServerArgs))
	if err != nil {
		listener.Close()
		return h, err
	}

	admin, err := restConfigFor(buildKubeconfig(h.server, ca.certPEM, credentials, adminContext), adminContext)
	if err != nil {
		return h, err
	}
	if err := h.waitReady(ctx, admin); err != nil {
		return h, err
	}
	if err := applyCRDs(ctx, admin, crds); err != nil {
		return h, err
	}
	for _, crd := range crds {
		h.crdNames = append(h.crdNames, crd.Name)
	}

	shortLived, err := h.issueClientCertificates(ca, []clientIdentityNamed{shortLivedIdentity(time.Now(), options.ShortLivedTTL)})
	if err != nil {
		return h, err
	}
	h.kubeconfig = filepath.Join(h.dir, "kubeconfig")
	kubeconfig := buildKubeconfig(h.server, ca.certPEM, append(credentials, shortLived...), adminContext)
	if err := writeKubeconfig(kubeconfig, h.kubeconfig); err != nil {
		return h, err
	}
	return h, nil
}

// prepareEmptyDir creates dir or checks that it is empty: the harness never
// starts on another run's etcd data.
func prepareEmptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("--dir %s is not empty (it holds %s)", dir, entries[0].Name())
	}
	return nil
}

// writeServerCredentials makes this run's CA, the serving certificate and the
// service-account signing key under <dir>/pki.
func (h *harness) writeServerCredentials(now time.Time) (*certAuthority, apiServerFiles, error) {
	pki := filepath.Join(h.dir, "pki")
	files := apiServerFiles{CertDir: pki}
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return nil, files, err
	}
	ca, err := newCertAuthority(now)
	if err != nil {
		return nil, files, err
	}
	files.ClientCA = filepath.Join(pki, "ca.crt")
	if err := os.WriteFile(files.ClientCA, ca.certPEM, 0o600); err != nil {
		return nil, files, err
	}
	serving, err := ca.servingCert(now)
	if err != nil {
		return nil, files, err
	}
	if files.ServingCert, files.ServingKey, err = writeKeyPair(pki, "apiserver", serving); err != nil {
		return nil, files, err
	}
	signingKey, err := newSigningKeyPEM()
	if err != nil {
		return nil, files, err
	}
	files.ServiceAccountKey = filepath.Join(pki, "service-account.key")
	if err := os.WriteFile(files.ServiceAccountKey, signingKey, 0o600); err != nil {
		return nil, files, err
	}
	return ca, files, nil
}

// issueClientCertificates signs a certificate for each identity and remembers
// the identities for the ready line.
func (h *harness) issueClientCertificates(ca *certAuthority, ids []clientIdentityNamed) ([]namedCredential, error) {
	var credentials []namedCredential
	for _, identity := range ids {
		pair, err := ca.clientCert(identity.clientIdentity)
		if err != nil {
			return nil, err
		}
		credentials = append(credentials, namedCredential{Name: identity.Context, Pair: pair})
		h.identities = append(h.identities, identity)
	}
	return credentials, nil
}

// waitReady waits for /readyz and the default namespace, or the server's failure.
func (h *harness) waitReady(ctx context.Context, config *rest.Config) error {
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	var lastProblem string
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, apiServerReadyTimeout, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-h.apiServerDone:
			h.apiServerDone = nil
			if err == nil {
				err = fmt.Errorf("stopped before it was ready")
			}
			return false, fmt.Errorf("kube-apiserver: %w", err)
		default:
		}
		status := 0
		result := client.CoreV1().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
		if status != 200 {
			lastProblem = fmt.Sprintf("/readyz answered %d (%v)", status, result.Error())
			return false, nil
		}
		if _, err := client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
			if !apierrors.IsNotFound(err) {
				lastProblem = fmt.Sprintf("get namespace default: %v", err)
			} else {
				lastProblem = "namespace default not created yet"
			}
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver not ready (last: %s): %w", lastProblem, err)
	}
	return nil
}

func (h *harness) readyLine(startup time.Duration) readyLine {
	contexts := map[string]contextInfo{}
	for _, identity := range h.identities {
		contexts[identity.Context] = contextInfo{
			User:     identity.User,
			Groups:   identity.Groups,
			NotAfter: identity.NotAfter.UTC().Format(time.RFC3339Nano),
		}
	}
	return readyLine{
		Kubeconfig:     h.kubeconfig,
		Server:         h.server,
		CurrentContext: adminContext,
		Contexts:       contexts,
		Etcd:           h.etcdURL,
		Dir:            h.dir,
		CRDs:           h.crdNames,
		Versions:       moduleVersions(),
		StartupMillis:  startup.Milliseconds(),
		Pid:            os.Getpid(),
	}
}

// shutdown stops the API server (waiting for it), then etcd, then removes the
// directory if the harness made it. Safe to call more than once.
func (h *harness) shutdown() {
	if h.stopped {
		return
	}
	h.stopped = true
	if h.cancel != nil {
		h.cancel()
	}
	if h.apiServerDone != nil {
		select {
		case <-h.apiServerDone:
		case <-time.After(shutdownTimeout):
			fmt.Fprintf(os.Stderr, "kube-apiserver-harness: kube-apiserver still running %s after stop; leaving it\n", shutdownTimeout)
		}
	}
	if h.etcd != nil {
		quietEtcdShutdown()
		h.etcd.Close()
	}
	if h.removeDir && h.dir != "" {
		_ = os.RemoveAll(h.dir)
	}
	klog.Flush()
}

// moduleVersions reports the versions this binary was built from.
func moduleVersions() map[string]string {
	versions := map[string]string{"go": runtime.Version(), "istioApi": istioAPIVersion}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return versions
	}
	names := map[string]string{
		"k8s.io/kubernetes":         "kubernetes",
		"go.etcd.io/etcd/server/v3": "etcd",
	}
	for _, dep := range info.Deps {
		if key, ok := names[dep.Path]; ok {
			versions[key] = dep.Version
		}
	}
	return versions
}
