// The kubeconfig the harness writes for its clients (@kubernetes/client-node,
// kubectl): one cluster, one user and one context per client identity, with the
// CA and each client certificate inline so the file stands alone
// (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/).
package main

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const kubeconfigCluster = "meshwasm-test"

// namedCredential is one user of the kubeconfig, with a context of the same name.
type namedCredential struct {
	Name string
	Pair *keyPair
}

func buildKubeconfig(server string, caPEM []byte, credentials []namedCredential, current string) *clientcmdapi.Config {
	config := clientcmdapi.NewConfig()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = server
	cluster.CertificateAuthorityData = caPEM
	config.Clusters[kubeconfigCluster] = cluster
	for _, credential := range credentials {
		user := clientcmdapi.NewAuthInfo()
		user.ClientCertificateData = credential.Pair.CertPEM
		user.ClientKeyData = credential.Pair.KeyPEM
		config.AuthInfos[credential.Name] = user
		context := clientcmdapi.NewContext()
		context.Cluster = kubeconfigCluster
		context.AuthInfo = credential.Name
		context.Namespace = "default"
		config.Contexts[credential.Name] = context
	}
	config.CurrentContext = current
	return config
}

func writeKubeconfig(config *clientcmdapi.Config, path string) error {
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// restConfigFor is the client configuration of one context, read back the way
// clients read the file, so the harness's own checks go through the same
// TLS client authentication as the tests.
func restConfigFor(config *clientcmdapi.Config, contextName string) (*rest.Config, error) {
	clientConfig := clientcmd.NewNonInteractiveClientConfig(*config, contextName, &clientcmd.ConfigOverrides{}, nil)
	restConfig, err := clientConfig.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %s: %w", contextName, err)
	}
	restConfig.QPS = 100
	restConfig.Burst = 200
	return restConfig, nil
}
