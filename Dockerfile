# The otelcol-fapilog container image: the static binary ocb builds, CA certificates for TLS backends, a default
# configuration, a non-root user, and nothing else. `make image` builds it with buildah into an OCI archive under
# _build/ (scripts/image.sh stages _build/image/ca-certificates.crt from the build host's Debian ca-certificates);
# after `make build` and that staging, `docker build .` builds the same image.
FROM scratch

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="otelcol-fapilog" \
      org.opencontainers.image.description="OpenTelemetry Collector distribution delivering OTLP logs where fapilog's sinks deliver them" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY _build/image/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY _build/otelcol-fapilog /otelcol-fapilog
COPY deploy/image/config.yaml /etc/otelcol-fapilog/config.yaml

# No /etc/passwd in scratch: a numeric user, the same the Helm chart's securityContext names.
USER 10001:10001

# OTLP/gRPC, OTLP/HTTP, health_check.
EXPOSE 4317 4318 13133

# The gate makes health_check answer from the components' status (the shipped configs use its http/status form).
ENTRYPOINT ["/otelcol-fapilog", "--feature-gates=+extension.healthcheck.useComponentStatus"]
CMD ["--config=/etc/otelcol-fapilog/config.yaml"]
