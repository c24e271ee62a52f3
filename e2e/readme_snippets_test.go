package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestE2E_READMECollectorSnippetsValidate runs `otelcol-fapilog validate` on every collector configuration a
// README shows in a ```yaml block (the distribution's README and each exporter's and processor's), the way a user
// pastes it. A snippet is completed only with what the READMEs leave out on purpose: an `otlp` receiver when it
// has none, a logs pipeline through everything it defines when it has no pipeline, and the file_storage extension
// a `sending_queue.storage` names ("add the file_storage extension"), in a temporary directory. Anything else a
// snippet needs must be in it: an exporter its pipeline names, a directory it cannot create, a value the
// collector refuses. ocb manifests (`dist:`) are not collector configurations and are left out; deploy/README.md's
// Helm values are rendered and validated by `make deploy-check`.
func TestE2E_READMECollectorSnippetsValidate(t *testing.T) {
	root := repoRoot()
	readmes := []string{filepath.Join(root, "README.md")}
	for _, pattern := range []string{"exporter/*/README.md", "processor/*/README.md", "pkg/*/README.md"} {
		found, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		readmes = append(readmes, found...)
	}
	binary := Binary(t)
	validated := 0
	for _, readme := range readmes {
		raw, err := os.ReadFile(readme)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, readme)
		for _, s := range yamlBlocks(string(raw)) {
			name := rel + ":" + s.line
			var cfg map[string]any
			if err := yaml.Unmarshal([]byte(s.text), &cfg); err != nil {
				t.Errorf("%s: not YAML: %v", name, err)
				continue
			}
			if _, manifest := cfg["dist"]; manifest {
				continue
			}
			completeSnippet(cfg, t.TempDir())
			out, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, out, 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"validate", "--config", path}
			if ext, _ := cfg["extensions"].(map[string]any); ext != nil {
				if hc, _ := ext["health_check"].(map[string]any); hc != nil && hc["http"] != nil {
					args = append([]string{"--feature-gates=+extension.healthcheck.useComponentStatus"}, args...)
				}
			}
			if msg, err := exec.Command(binary, args...).CombinedOutput(); err != nil {
				t.Errorf("%s: the README's snippet does not validate: %v\n%s\ncompleted as:\n%s", name, err, msg, out)
			}
			validated++
		}
	}
	t.Logf("%d README snippets validated", validated)
	if validated < 8 {
		t.Fatalf("validated %d snippets: the READMEs' examples were not found", validated)
	}
}

type yamlBlock struct{ line, text string }

var fence = regexp.MustCompile("^([ \t]*)```(\\w*)[ \t]*$")

// yamlBlocks returns the ```yaml blocks of a Markdown text, their indentation removed, with the line of each.
func yamlBlocks(md string) []yamlBlock {
	var blocks []yamlBlock
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, lang, start := m[1], m[2], i+1
		var body []string
		for i++; i < len(lines) && !fence.MatchString(lines[i]); i++ {
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		if lang == "yaml" || lang == "yml" {
			blocks = append(blocks, yamlBlock{line: strconv.Itoa(start), text: strings.Join(body, "\n")})
		}
	}
	return blocks
}

// completeSnippet adds what the READMEs elide: a receiver, a pipeline and the file_storage extension a queue names.
func completeSnippet(cfg map[string]any, dir string) {
	if _, ok := cfg["receivers"]; !ok {
		cfg["receivers"] = map[string]any{"otlp": map[string]any{"protocols": map[string]any{
			"grpc": map[string]any{"endpoint": "127.0.0.1:4317"}, "http": map[string]any{"endpoint": "127.0.0.1:4318"}}}}
	}
	service, _ := cfg["service"].(map[string]any)
	if service == nil {
		service = map[string]any{}
		cfg["service"] = service
	}
	if _, ok := service["pipelines"]; !ok {
		pipeline := map[string]any{"receivers": snippetKeys(cfg["receivers"])}
		if processors := snippetKeys(cfg["processors"]); len(processors) > 0 {
			pipeline["processors"] = processors
		}
		exporters := snippetKeys(cfg["exporters"])
		if len(exporters) == 0 {
			cfg["exporters"] = map[string]any{"debug": nil}
			exporters = []string{"debug"}
		}
		pipeline["exporters"] = exporters
		service["pipelines"] = map[string]any{"logs": pipeline}
	}
	extensions, _ := cfg["extensions"].(map[string]any)
	exporters, _ := cfg["exporters"].(map[string]any)
	for _, name := range snippetKeys(exporters) {
		exp, _ := exporters[name].(map[string]any)
		queue, _ := exp["sending_queue"].(map[string]any)
		storage, _ := queue["storage"].(string)
		if storage == "" || extensions[storage] != nil {
			continue
		}
		if extensions == nil {
			extensions = map[string]any{}
			cfg["extensions"] = extensions
		}
		extensions[storage] = map[string]any{"directory": dir, "create_directory": true}
		enabled, _ := service["extensions"].([]any)
		service["extensions"] = append(enabled, storage)
	}
}

// snippetKeys returns the sorted keys of a YAML map (nil for anything else).
func snippetKeys(v any) []string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
