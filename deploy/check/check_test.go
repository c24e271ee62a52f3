package main

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
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

func TestPersistentQueueProblem_WantsAQueueOnTheClaims(t *testing.T) {
	ctr := corev1.Container{VolumeMounts: []corev1.VolumeMount{
		{Name: "config", MountPath: "/conf"}, {Name: "data", MountPath: "/var/lib/otelcol-fapilog"},
	}}
	config := func(doc string) map[string]any {
		var cfg map[string]any
		if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	onClaim := config(`
extensions:
  file_storage/queue: {directory: /var/lib/otelcol-fapilog/queue}
exporters:
  fapilogpostgres: {sending_queue: {storage: file_storage/queue}}
`)
	if p := persistentQueueProblem(ctr, []string{"data"}, onClaim); p != "" {
		t.Errorf("a queue on the claim: %s", p)
	}
	if p := persistentQueueProblem(ctr, nil, config(`exporters: {fapilogpostgres: {}}`)); p != "" {
		t.Errorf("no claims: %s", p)
	}
	for name, doc := range map[string]string{
		"no queue at all (persistence.enabled alone)": `exporters: {fapilogpostgres: {sending_queue: {wait_for_result: true}}}`,
		"file_storage elsewhere": `
extensions:
  file_storage/queue: {directory: /tmp/queue}
exporters:
  fapilogpostgres: {sending_queue: {storage: file_storage/queue}}
`,
		"file_storage on the claim, unused": `
extensions:
  file_storage/queue: {directory: /var/lib/otelcol-fapilog/queue}
exporters:
  fapilogpostgres: {sending_queue: {wait_for_result: true}}
`,
	} {
		if p := persistentQueueProblem(ctr, []string{"data"}, config(doc)); p == "" {
			t.Errorf("%s: accepted", name)
		}
	}
}
