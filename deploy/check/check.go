package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// checker collects what it checked and every problem, so one run reports them all.
type checker struct {
	binary           string
	exampleOperators []any
	manifests        int
	configs          int
	report           []string
	problems         []string
}

func (c *checker) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// newObject returns the typed object for a manifest's apiVersion and kind: only what the chart renders.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "apps/v1/DaemonSet":
		return &appsv1.DaemonSet{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	}
	return nil, fmt.Errorf("unexpected %s %s", apiVersion, kind)
}

// decodeStrict decodes one YAML manifest into its k8s.io/api type, refusing duplicate keys, unknown fields and
// values of the wrong type: what an API server with strict field validation refuses.
func decodeStrict(doc []byte) (any, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, err
	}
	obj, err := newObject(tm.APIVersion, tm.Kind)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

// splitDocuments splits a multi-document YAML stream, dropping empty documents and comments-only ones.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		meaningful := false
		for _, line := range strings.Split(doc, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				meaningful = true
				break
			}
		}
		if meaningful {
			docs = append(docs, []byte(doc))
		}
	}
	return docs
}

// checkRendered checks one `helm template` output: one release of one value set.
func (c *checker) checkRendered(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		c.problem("%v", err)
		return
	}
	name := filepath.Base(path)
	configs := map[string]string{} // ConfigMap name -> relay.yaml
	var pods []podSpecOf
	kinds := map[string]int{}
	var services []*corev1.Service
	for _, doc := range splitDocuments(data) {
		obj, err := decodeStrict(doc)
		if err != nil {
			c.problem("%s: %v", name, err)
			continue
		}
		c.manifests++
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			configs[o.Name] = o.Data["relay.yaml"]
			kinds["ConfigMap"]++
		case *appsv1.DaemonSet:
			pods = append(pods, podSpecOf{"DaemonSet " + o.Name, &o.Spec.Template.Spec, nil})
			kinds["DaemonSet"]++
		case *appsv1.Deployment:
			pods = append(pods, podSpecOf{"Deployment " + o.Name, &o.Spec.Template.Spec, nil})
			kinds["Deployment"]++
		case *appsv1.StatefulSet:
			var claims []string
			for _, pvc := range o.Spec.VolumeClaimTemplates {
				claims = append(claims, pvc.Name)
			}
			pods = append(pods, podSpecOf{"StatefulSet " + o.Name, &o.Spec.Template.Spec, claims})
			kinds["StatefulSet"]++
		case *corev1.Service:
			services = append(services, o)
			kinds["Service"]++
		case *policyv1.PodDisruptionBudget:
			kinds["PodDisruptionBudget"]++
		default:
			kinds[fmt.Sprintf("%T", o)]++
		}
	}
	if len(pods) != 1 {
		c.problem("%s: %d workloads, want 1", name, len(pods))
		return
	}
	pod := pods[0]
	gateway := kinds["DaemonSet"] == 0
	if gateway {
		if kinds["PodDisruptionBudget"] != 1 {
			c.problem("%s: a gateway needs a PodDisruptionBudget", name)
		}
		if len(services) != 1 || services[0].Spec.ClusterIP != corev1.ClusterIPNone {
			c.problem("%s: a gateway needs one headless Service (clusterIP: None)", name)
		}
	}
	for _, vol := range pod.spec.Volumes {
		if vol.ConfigMap == nil {
			continue
		}
		relay, ok := configs[vol.ConfigMap.Name]
		if !ok {
			c.problem("%s: %s mounts ConfigMap %s, which is not rendered", name, pod.name, vol.ConfigMap.Name)
			continue
		}
		c.checkPod(name, pod, relay, gateway)
	}
	c.report = append(c.report, fmt.Sprintf("%s: %v", name, kinds))
}

type podSpecOf struct {
	name string
	spec *corev1.PodSpec
	// claims are the names of the StatefulSet's volumeClaimTemplates.
	claims []string
}

var mibValue = regexp.MustCompile(`^([0-9]+)MiB$`)

// checkPod checks the collector container against its configuration.
func (c *checker) checkPod(file string, pod podSpecOf, relay string, gateway bool) {
	if len(pod.spec.Containers) != 1 {
		c.problem("%s: %s has %d containers, want 1", file, pod.name, len(pod.spec.Containers))
		return
	}
	ctr := pod.spec.Containers[0]
	where := file + ": " + pod.name

	limit, hasLimit := ctr.Resources.Limits[corev1.ResourceMemory]
	request := ctr.Resources.Requests[corev1.ResourceMemory]
	if !hasLimit || limit.Cmp(request) != 0 {
		c.problem("%s: memory limit %s must be set and equal the request %s", where, limit.String(), request.String())
	}
	gomemlimit := ""
	for _, e := range ctr.Env {
		if e.Name == "GOMEMLIMIT" {
			gomemlimit = e.Value
		}
	}
	if m := mibValue.FindStringSubmatch(gomemlimit); m == nil {
		c.problem("%s: GOMEMLIMIT %q, want <n>MiB", where, gomemlimit)
	} else if want := fmt.Sprintf("%dMiB", limit.Value()*80/100/(1<<20)); gomemlimit != want {
		c.problem("%s: GOMEMLIMIT %s, want 80%% of the %s limit = %s", where, gomemlimit, limit.String(), want)
	}

	sc := ctr.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil ||
		*sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		c.problem("%s: the container must run with a read-only root, no privilege escalation and no capabilities", where)
	}
	if gateway {
		psc := pod.spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
			c.problem("%s: gateways run as a non-root user", where)
		}
	}

	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(relay), &cfg); err != nil {
		c.problem("%s: relay.yaml: %v", where, err)
		return
	}
	if p := persistentQueueProblem(ctr, pod.claims, cfg); p != "" {
		c.problem("%s: %s", where, p)
	}
	healthPorts := healthCheckPorts(cfg)
	for probeName, probe := range map[string]*corev1.Probe{"liveness": ctr.LivenessProbe, "readiness": ctr.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			c.problem("%s: no HTTP %s probe", where, probeName)
			continue
		}
		port := probe.HTTPGet.Port.IntValue()
		for _, p := range ctr.Ports {
			if p.Name == probe.HTTPGet.Port.String() {
				port = int(p.ContainerPort)
			}
		}
		if !healthPorts[port] || probe.HTTPGet.Path != "/" {
			c.problem("%s: %s probe on port %s path %s, not a health_check endpoint of the config (ports %v, path /)",
				where, probeName, probe.HTTPGet.Port.String(), probe.HTTPGet.Path, healthPorts)
		}
	}

	// Validate the configuration the way the pod starts: the container's own arguments, its config swapped in.
	dir, err := os.MkdirTemp("", "deploy-check-")
	if err != nil {
		c.problem("%v", err)
		return
	}
	defer os.RemoveAll(dir)
	relayPath := filepath.Join(dir, "relay.yaml")
	if err := os.WriteFile(relayPath, []byte(relay), 0o600); err != nil {
		c.problem("%v", err)
		return
	}
	var args []string
	for _, a := range ctr.Args {
		if !strings.HasPrefix(a, "--config=") {
			args = append(args, a)
		}
	}
	args = append(args, "validate", "--config="+relayPath)
	cmd := exec.Command(c.binary, args...)
	cmd.Env = append(os.Environ(), "MY_POD_IP=127.0.0.1", "K8S_NODE_NAME=node-1", "K8S_POD_NAME=pod-0", "K8S_NAMESPACE=default")
	if out, err := cmd.CombinedOutput(); err != nil {
		c.problem("%s: otelcol-fapilog %s: %v\n%s", where, strings.Join(args, " "), err, out)
	} else {
		c.configs++
	}
	c.checkOperators(where, cfg)
}

// healthCheckPorts returns the ports of every health_check extension's HTTP endpoint in a collector config.
func healthCheckPorts(cfg map[string]any) map[int]bool {
	ports := map[int]bool{}
	exts, _ := cfg["extensions"].(map[string]any)
	for id, raw := range exts {
		if id != "health_check" && !strings.HasPrefix(id, "health_check/") {
			continue
		}
		ext, _ := raw.(map[string]any)
		endpoint, _ := ext["endpoint"].(string)
		if http, ok := ext["http"].(map[string]any); ok {
			endpoint, _ = http["endpoint"].(string)
		}
		var port int
		if i := strings.LastIndexByte(endpoint, ':'); i >= 0 {
			_, _ = fmt.Sscanf(endpoint[i+1:], "%d", &port)
		}
		if port == 0 {
			port = 13133 // the extension's default
		}
		ports[port] = true
	}
	return ports
}

// loadExampleOperators reads the fapilog operators of the shipped file_log example.
func (c *checker) loadExampleOperators(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	ops, err := fapilogOperators(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	c.exampleOperators = ops
	return nil
}

// fapilogOperators returns a config's file_log operators from the fapilog router on.
func fapilogOperators(cfg map[string]any) ([]any, error) {
	receivers, _ := cfg["receivers"].(map[string]any)
	fileLog, _ := receivers["file_log"].(map[string]any)
	ops, _ := fileLog["operators"].([]any)
	for i, op := range ops {
		if m, _ := op.(map[string]any); m["id"] == "fapilog_router" {
			return ops[i:], nil
		}
	}
	return nil, errors.New("no file_log operator with id fapilog_router")
}

// checkOperators checks that a config with a file_log receiver reads fapilog lines exactly as the tested example.
func (c *checker) checkOperators(where string, cfg map[string]any) {
	receivers, _ := cfg["receivers"].(map[string]any)
	if _, ok := receivers["file_log"]; !ok {
		return
	}
	ops, err := fapilogOperators(cfg)
	if err != nil {
		c.problem("%s: %v", where, err)
		return
	}
	if !reflect.DeepEqual(ops, c.exampleOperators) {
		c.problem("%s: the fapilog file_log operators differ from deploy/examples/fapilog-files.yaml (the tested ones)", where)
	}
}

// checkConfigFile checks a shipped collector config file's fapilog operators.
func (c *checker) checkConfigFile(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		c.problem("%v", err)
		return
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		c.problem("%s: %v", path, err)
		return
	}
	c.checkOperators(path, cfg)
	c.report = append(c.report, path+": fapilog operators as in the example")
}

// persistentQueueProblem checks that a pod with volume claims keeps a queue on them: a file_storage extension whose
// directory is on a claim's mount, named as some exporter's sending_queue.storage. A StatefulSet whose claims hold
// no queue keeps its records in memory, which is what deploy/README.md's "Persistent queues on PVCs" is there to
// avoid. "" when there is nothing to check or nothing wrong.
func persistentQueueProblem(ctr corev1.Container, claims []string, cfg map[string]any) string {
	if len(claims) == 0 {
		return ""
	}
	var mounts []string
	for _, m := range ctr.VolumeMounts {
		for _, claim := range claims {
			if m.Name == claim {
				mounts = append(mounts, strings.TrimSuffix(m.MountPath, "/"))
			}
		}
	}
	if len(mounts) == 0 {
		return fmt.Sprintf("volume claims %v are not mounted", claims)
	}
	onClaim := map[string]bool{} // file_storage extensions whose directory is on a claim
	exts, _ := cfg["extensions"].(map[string]any)
	for id, raw := range exts {
		if id != "file_storage" && !strings.HasPrefix(id, "file_storage/") {
			continue
		}
		ext, _ := raw.(map[string]any)
		dir, _ := ext["directory"].(string)
		for _, m := range mounts {
			if dir == m || strings.HasPrefix(dir, m+"/") {
				onClaim[id] = true
			}
		}
	}
	exporters, _ := cfg["exporters"].(map[string]any)
	for _, raw := range exporters {
		exp, _ := raw.(map[string]any)
		queue, _ := exp["sending_queue"].(map[string]any)
		if storage, _ := queue["storage"].(string); onClaim[storage] {
			return ""
		}
	}
	return fmt.Sprintf("volume claims mounted at %v, but no exporter's sending_queue.storage is a file_storage "+
		"extension with its directory there: the queue stays in memory", mounts)
}
