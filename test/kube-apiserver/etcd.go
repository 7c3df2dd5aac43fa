// Embedded etcd for the harness's API server, started the way Kubernetes' own
// integration tests start one (k8s.io/apiserver/pkg/storage/etcd3/testserver):
// embed.NewConfig(), UnsafeNoFsync (a single throw-away member whose data is never
// kept), free loopback client and peer URLs, a private data directory, and
// ReadyNotify before the API server is pointed at it. Plain HTTP on 127.0.0.1 only.
package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

const etcdReadyTimeout = 60 * time.Second

// etcdLogLevel shows etcd's errors on stderr while it serves; quietEtcdShutdown
// raises it before a deliberate stop, where etcd reports its closed listeners
// as errors.
var etcdLogLevel = zap.NewAtomicLevelAt(zap.ErrorLevel)

func quietEtcdShutdown() { etcdLogLevel.SetLevel(zap.FatalLevel) }

func etcdLogger() (*zap.Logger, error) {
	config := zap.NewProductionConfig()
	config.Level = etcdLogLevel
	config.Sampling = nil
	config.OutputPaths = []string{"stderr"}
	config.ErrorOutputPaths = []string{"stderr"}
	return config.Build()
}

// startEtcd starts a single-member etcd with its data in dataDir. Free ports are
// picked by binding and releasing them, so another process can take one in
// between; a failed start is therefore retried on new ports a few times.
func startEtcd(dataDir string) (*embed.Etcd, string, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		etcd, clientURL, err := startEtcdOnce(dataDir)
		if err == nil {
			return etcd, clientURL, nil
		}
		lastErr = err
		_ = os.RemoveAll(dataDir)
	}
	return nil, "", fmt.Errorf("start embedded etcd: %w", lastErr)
}

func startEtcdOnce(dataDir string) (*embed.Etcd, string, error) {
	ports, err := freeLoopbackPorts(2)
	if err != nil {
		return nil, "", err
	}
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}

	cfg := embed.NewConfig()
	cfg.Name = "meshwasm-test"
	cfg.Dir = dataDir
	cfg.UnsafeNoFsync = true
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	logger, err := etcdLogger()
	if err != nil {
		return nil, "", err
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logger.Named("etcd"))

	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", err
	}
	etcd, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-etcd.Server.ReadyNotify():
		return etcd, clientURL.String(), nil
	case err := <-etcd.Err():
		etcd.Close()
		return nil, "", fmt.Errorf("etcd failed while starting: %w", err)
	case <-time.After(etcdReadyTimeout):
		etcd.Close()
		return nil, "", fmt.Errorf("etcd not ready after %s", etcdReadyTimeout)
	}
}

// freeLoopbackPorts returns count distinct ports that were free on 127.0.0.1.
func freeLoopbackPorts(count int) ([]int, error) {
	ports := make([]int, 0, count)
	for len(ports) < count {
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		defer listener.Close()
		ports = append(ports, listener.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
