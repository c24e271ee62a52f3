# fapilog-otelcol: the front door. `make run` starts the collector with otelcol.yaml; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools/bin
OCB_VERSION := v0.165.0
OCB := $(TOOLS)/builder
# A Loki-push-compatible server (Apache-2.0) the Loki exporter's integration and e2e tests run against.
VICTORIALOGS_VERSION := v1.52.1
VICTORIALOGS := $(TOOLS)/victoria-logs
# The load generator of make bench-e2e (v0.165.x is not served by the module proxy).
TELEMETRYGEN_VERSION := v0.161.0
TELEMETRYGEN := $(TOOLS)/telemetrygen
DIST := _build/otelcol-fapilog
GO_SOURCES := $(shell find . -name '*.go' -not -path './_build/*' -not -path './bench/*' -not -path './.tools/*' -not -path './deploy/*')
TEST_FLAGS ?= -count=1 -timeout 30m
# The container image (Dockerfile), tagged with the distribution's version, as an OCI archive.
IMAGE_TAG := otelcol-fapilog:$(shell awk '$$1 == "version:" {print $$2; exit}' builder-config.yaml)
IMAGE_ARCHIVE := _build/otelcol-fapilog-image.tar
# helm renders the chart in make deploy-check (built from the Go module proxy; no cluster needed).
HELM_VERSION := v4.3.2
HELM := $(TOOLS)/helm

.PHONY: build run test unit e2e services bench bench-e2e lint fmt clean image deploy-check

build: $(DIST)

$(DIST): $(OCB) builder-config.yaml go.mod go.sum $(GO_SOURCES)
	$(OCB) --config builder-config.yaml
	@touch $(DIST)

$(OCB):
	GOBIN=$(TOOLS) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

$(VICTORIALOGS):
	GOBIN=$(TOOLS) $(GO) install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$(VICTORIALOGS_VERSION)

$(TELEMETRYGEN):
	GOBIN=$(TOOLS) $(GO) install github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$(TELEMETRYGEN_VERSION)

# The feature gate makes health_check answer from the components' status (an exporter failing for longer than
# recovery_duration is unhealthy), as the image, the Helm chart and the deploy/ configs run it.
run: build
	./$(DIST) --feature-gates=+extension.healthcheck.useComponentStatus --config otelcol.yaml

# Every test: unit, integration (a private throwaway PostgreSQL cluster per test process, or the server in
# FAPILOG_TEST_POSTGRES_URL) and end-to-end against the built distribution; then the bench module's own tests
# (the side-by-side suite's parsers and recorders, bench/redact's equivalence with contrib's redaction processor).
test: build image services $(VICTORIALOGS)
	FAPILOG_OTELCOL_BINARY=$(CURDIR)/$(DIST) FAPILOG_IMAGE_ARCHIVE=$(CURDIR)/$(IMAGE_ARCHIVE) $(GO) test $(TEST_FLAGS) ./...
	cd bench && $(GO) test $(TEST_FLAGS) ./...

unit: services $(VICTORIALOGS)
	$(GO) test $(TEST_FLAGS) $$($(GO) list ./... | grep -v /e2e)

e2e: build image services $(VICTORIALOGS)
	FAPILOG_OTELCOL_BINARY=$(CURDIR)/$(DIST) FAPILOG_IMAGE_ARCHIVE=$(CURDIR)/$(IMAGE_ARCHIVE) $(GO) test $(TEST_FLAGS) ./e2e/...

# The container image as an OCI archive, built with buildah (installed from Debian when missing) as root without a
# daemon; e2e/image_test.go validates the default config inside it.
image: $(IMAGE_ARCHIVE)

$(IMAGE_ARCHIVE): $(DIST) Dockerfile .dockerignore deploy/image/config.yaml scripts/image.sh
	./scripts/image.sh $(DIST) $@ $(IMAGE_TAG)

$(HELM):
	GOBIN=$(TOOLS) $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

# The Helm chart (deploy/helm): helm lint and helm template of both value sets, every rendered manifest decoded
# strictly into k8s.io/api types and every rendered collector config validated by the binary (deploy/check).
deploy-check: $(HELM) $(DIST)
	./scripts/deploy-check.sh $(HELM) $(DIST)

# Installs (when missing) the PostgreSQL binaries the integration tests start their own cluster with.
services:
	./scripts/services.sh

# Go benchmarks of every exporter, the processor and the encoder, then the side-by-side comparisons in bench/
# (contrib fileexporter and redactionprocessor), then one table of ratios.
bench:
	@mkdir -p _build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./exporter/... ./processor/... ./pkg/... | tee _build/bench.txt
	cd bench && $(GO) test -run '^$$' -bench . -benchmem ./... | tee -a ../_build/bench.txt
	@./scripts/bench-table.sh _build/bench.txt
	@./scripts/bench-e2e-summary.sh

# The end-to-end side-by-side suite (bench/README.md): ocb builds of contrib's fileexporter, of the same components
# with fapilogfile and core's nop exporter, and of the shipped distribution under _build/bench/, the same
# telemetrygen load against each in alternating rounds, our
# network exporters against local destinations; writes BENCHMARKS.md. About 10 minutes. BENCH_E2E_FLAGS go to
# the suite (e.g. -rounds 9); BENCH_E2E_REV=<commit> measures a commit instead of the working tree.
bench-e2e: $(OCB) $(TELEMETRYGEN) $(VICTORIALOGS) services
	./scripts/bench-e2e.sh $(BENCH_E2E_FLAGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf _build .tools
