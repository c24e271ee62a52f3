package main

import (
	"strings"
	"testing"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: gw
spec:
  replicas: 3
  selector:
    matchLabels: {app: gw}
  template:
    metadata:
      labels: {app: gw}
    spec:
      containers:
        - name: c
          image: otelcol-fapilog:0.1.0
`

func TestDecodeStrict_AcceptsAValidManifest(t *testing.T) {
	if _, err := decodeStrict([]byte(deployment)); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeStrict_RefusesWhatAnAPIServerWouldRefuse(t *testing.T) {
	for name, doc := range map[string]string{
		"misspelled field":   strings.Replace(deployment, "replicas: 3", "replica: 3", 1),
		"unknown field":      strings.Replace(deployment, "image: otelcol-fapilog:0.1.0", "image: x\n          livenesProbe: {}", 1),
		"wrong type":         strings.Replace(deployment, "replicas: 3", "replicas: three", 1),
		"duplicate key":      strings.Replace(deployment, "replicas: 3", "replicas: 3\n  replicas: 4", 1),
		"unknown kind":       strings.Replace(deployment, "kind: Deployment", "kind: Deploymnet", 1),
		"unexpected version": strings.Replace(deployment, "apps/v1", "apps/v1beta1", 1),
	} {
		if _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSplitDocuments_SkipsEmptyAndCommentOnlyDocuments(t *testing.T) {
	docs := splitDocuments([]byte("---\n# Source: chart/templates/pdb.yaml\n---\n" + deployment + "---\n" + deployment))
	if len(docs) != 2 {
		t.Fatalf("%d documents, want 2", len(docs))
	}
}

func TestHealthCheckPorts_ReadsLegacyAndHTTPEndpoints(t *testing.T) {
	ports := healthCheckPorts(map[string]any{"extensions": map[string]any{
		"health_check":       map[string]any{"http": map[string]any{"endpoint": "${env:MY_POD_IP}:13133"}},
		"health_check/ready": map[string]any{"endpoint": "0.0.0.0:13134"},
		"health_check/plain": map[string]any{},
		"file_storage":       map[string]any{"directory": "/var/lib:9"},
	}})
	if len(ports) != 2 || !ports[13133] || !ports[13134] {
		t.Errorf("ports %v, want 13133 and 13134", ports)
	}
}
