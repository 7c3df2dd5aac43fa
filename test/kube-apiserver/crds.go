// The Istio CRDs, applied at start. The YAML is istio.io/api's
// kubernetes/customresourcedefinitions.gen.yaml at the version go.mod pins: build.sh
// copies it from the (checksum-verified) module cache next to this file, and the
// binary embeds it. A CRD counts as ready when its Established condition is True
// (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#create-a-customresourcedefinition)
// and discovery lists its resource in every served version, which is what
// clients (@kubernetes/client-node's KubernetesObjectApi, kubectl) resolve kinds by.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

//go:embed generated/istio-crds.gen.yaml
var istioCRDsYAML []byte

// istioAPIVersion is the istio.io/api version the embedded CRDs come from (set by
// build.sh with -ldflags -X, since the module is not linked into the binary).
var istioAPIVersion = "unknown"

const crdReadyTimeout = 60 * time.Second

// decodeCRDs reads every CustomResourceDefinition of a multi-document YAML stream.
func decodeCRDs(source string, data []byte) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var crds []*apiextensionsv1.CustomResourceDefinition
	for index := 0; ; index++ {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		err := decoder.Decode(crd)
		if errors.Is(err, io.EOF) {
			return crds, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, index+1, err)
		}
		if crd.Kind == "" && crd.Name == "" {
			continue // an empty document
		}
		if crd.Kind != "CustomResourceDefinition" {
			return nil, fmt.Errorf("%s: document %d: kind %q is not CustomResourceDefinition", source, index+1, crd.Kind)
		}
		crds = append(crds, crd)
	}
}

// loadCRDs returns the embedded Istio CRDs followed by those of extraFiles.
func loadCRDs(extraFiles []string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	crds, err := decodeCRDs("istio.io/api customresourcedefinitions.gen.yaml", istioCRDsYAML)
	if err != nil {
		return nil, err
	}
	for _, path := range extraFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--crd-file: %w", err)
		}
		more, err := decodeCRDs(path, data)
		if err != nil {
			return nil, err
		}
		crds = append(crds, more...)
	}
	return crds, nil
}

// applyCRDs creates the CRDs and waits until each is established and discoverable.
func applyCRDs(ctx context.Context, config *rest.Config, crds []*apiextensionsv1.CustomResourceDefinition) error {
	client, err := apiextensionsclient.NewForConfig(config)
	if err != nil {
		return err
	}
	for _, crd := range crds {
		if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{FieldManager: "meshwasm-test-harness"}); err != nil {
			return fmt.Errorf("create CRD %s: %w", crd.Name, err)
		}
	}
	discoveryClient, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return err
	}
	for _, crd := range crds {
		if err := waitEstablished(ctx, client, crd.Name); err != nil {
			return err
		}
		if err := waitDiscoverable(ctx, discoveryClient, crd); err != nil {
			return err
		}
	}
	return nil
}

func waitEstablished(ctx context.Context, client apiextensionsclient.Interface, name string) error {
	var last *apiextensionsv1.CustomResourceDefinition
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, crdReadyTimeout, true, func(ctx context.Context) (bool, error) {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = crd
		for _, condition := range crd.Status.Conditions {
			if condition.Type == apiextensionsv1.Established && condition.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not Established (conditions %v): %w", name, conditionsOf(last), err)
	}
	return nil
}

func waitDiscoverable(ctx context.Context, client discovery.DiscoveryInterface, crd *apiextensionsv1.CustomResourceDefinition) error {
	for _, version := range crd.Spec.Versions {
		if !version.Served {
			continue
		}
		groupVersion := crd.Spec.Group + "/" + version.Name
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, crdReadyTimeout, true, func(ctx context.Context) (bool, error) {
			resources, err := client.ServerResourcesForGroupVersion(groupVersion)
			if err != nil {
				return false, nil
			}
			for _, resource := range resources.APIResources {
				if resource.Name == crd.Spec.Names.Plural {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("%s %s not in discovery: %w", groupVersion, crd.Spec.Names.Plural, err)
		}
	}
	return nil
}

func conditionsOf(crd *apiextensionsv1.CustomResourceDefinition) []string {
	if crd == nil {
		return nil
	}
	var out []string
	for _, condition := range crd.Status.Conditions {
		out = append(out, fmt.Sprintf("%s=%s", condition.Type, condition.Status))
	}
	return out
}
