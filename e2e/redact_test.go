package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

const redactConfig = `
receivers:
  {{.Receiver}}
processors:
  redact:
    presets: [CREDENTIALS]
    redactors:
      - url_credentials
      - value_patterns
exporters:
  fapilogfile:
    directory: {{.Dir}}/logs
    flush_interval: 0s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      processors: [redact]
      exporters: [fapilogfile]
`

// TestE2E_SecretsArriveRedactedInTheFile sends records carrying secrets under credential keys and inside strings
// and checks that none of them reaches the file while the rest of each record does.
func TestE2E_SecretsArriveRedactedInTheFile(t *testing.T) {
	c := Start(t, redactConfig, nil)
	secrets := []string{
		"hunter2-password",
		"sk_live_api_key_123",
		"s3cr3t-db-pass",
		"4111 1111 1111 1111",
		"AKIAIOSFODNN7EXAMPLE",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXZhbHVl",
	}
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("charging card 4111 1111 1111 1111 via postgres://app:s3cr3t-db-pass@db.internal:5432/shop")
	a := lr.Attributes()
	a.PutStr("password", secrets[0])
	a.PutEmptyMap("client").PutStr("api_key", secrets[1])
	a.PutStr("note", "aws key AKIAIOSFODNN7EXAMPLE leaked")
	a.PutStr("auth_header", "Bearer "+secrets[5])
	a.PutStr("order_id", "o-77")
	c.SendGRPC(t, ld)
	c.SendHTTP(t, ld, true)
	c.Stop(t)

	lines, _ := ReadLogFiles(t, filepath.Join(c.Dir, "logs"))
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	for _, line := range lines {
		for _, secret := range secrets {
			if strings.Contains(string(line), secret) {
				t.Errorf("secret %q survived: %s", secret, line)
			}
		}
		for _, kept := range []string{`"order_id":"o-77"`, "db.internal:5432/shop", "charging card"} {
			if !strings.Contains(string(line), kept) {
				t.Errorf("%q should survive redaction: %s", kept, line)
			}
		}
	}
}
