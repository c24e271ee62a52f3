package redact

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

const benchBatch = 100

// typicalMessage is a 200-byte message; withSecrets puts URL credentials and a card number in it.
func typicalMessage(withSecrets bool) string {
	var m string
	if withSecrets {
		m = "payment processed for order 12345 via https://svc:Sup3rS3cret@payments.internal:8443/v1/charge card 4111 1111 1111 1111 amount 42.00 EUR"
	} else {
		m = "payment processed for order 12345 via https://payments.internal:8443/v1/charge card ending in 1111 amount 42.00 EUR"
	}
	return m + strings.Repeat(" ok", (200-len(m))/3) + strings.Repeat(".", (200-len(m))%3)
}

// typicalRecord fills lr with 10 attributes (one a nested map) and a 200-byte message. With secrets, two
// attributes are credentials.
func typicalRecord(lr plog.LogRecord, withSecrets bool) {
	a := lr.Attributes()
	a.PutStr("http.method", "GET")
	a.PutStr("http.route", "/api/v1/orders/{id}")
	a.PutInt("http.status_code", 200)
	a.PutStr("user.id", "u-12345")
	a.PutStr("request_id", "9f86d081884c7d65")
	a.PutDouble("duration_ms", 12.5)
	a.PutBool("retry", false)
	if withSecrets {
		a.PutStr("password", "hunter2-very-secret")
		a.PutStr("api_key", "sk_live_abcdef1234567890")
	} else {
		a.PutStr("region", "eu-west-1")
		a.PutStr("tenant", "acme")
	}
	u := a.PutEmptyMap("user")
	u.PutStr("name", "alice")
	u.PutStr("role", "admin")
	u.PutStr("team", "payments")
	lr.Body().SetStr(typicalMessage(withSecrets))
}

func typicalBatch(withSecrets bool) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("host.name", "node-1")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < benchBatch; i++ {
		typicalRecord(lrs.AppendEmpty(), withSecrets)
	}
	return ld
}

// restoreSecrets puts the secrets back after a run, without allocating, so every iteration redacts again.
func restoreSecrets(ld plog.Logs) {
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	msg := typicalMessage(true)
	for i := 0; i < lrs.Len(); i++ {
		lr := lrs.At(i)
		lr.Attributes().PutStr("password", "hunter2-very-secret")
		lr.Attributes().PutStr("api_key", "sk_live_abcdef1234567890")
		lr.Body().SetStr(msg)
	}
}

// credentialsConfig is CREDENTIALS + url_credentials + value_patterns (cards, AWS keys, JWTs, bearer tokens,
// private keys).
func credentialsConfig() *Config {
	cfg := testConfig(urlCreds(defaultURLMaxLength), valuePatternsRedactor())
	cfg.Presets = []string{"CREDENTIALS"}
	return cfg
}

// BenchmarkProcessLogs reports ns/record over batches of 100 typical records.
func BenchmarkProcessLogs(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  func() *Config
	}{
		{"default", func() *Config { return testConfig() }},
		{"credentials+value_patterns", credentialsConfig},
	} {
		for _, withSecrets := range []bool{false, true} {
			name := c.name + "/clean"
			if withSecrets {
				name = c.name + "/secrets"
			}
			b.Run(name, func(b *testing.B) {
				// Metrics go to an SDK MeterProvider, as in a running collector.
				p := newObservedProcessor(b, c.cfg())
				ld := typicalBatch(withSecrets)
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := p.processLogs(ctx, ld); err != nil {
						b.Fatal(err)
					}
					if withSecrets {
						restoreSecrets(ld)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/record")
			})
		}
	}
}
