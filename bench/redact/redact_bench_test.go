// Package redactbench compares processor/redact with contrib's redactionprocessor on the same records and an
// equivalent rule set: blocked keys (fapilog's CREDENTIALS preset) plus blocked value patterns (URL
// credentials, card numbers, AWS access keys, JWTs, bearer tokens, private keys).
package redactbench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/fapilog/fapilog-otelcol/processor/redact"
)

const batchSize = 100

const (
	secretPassword = "hunter2-very-secret"
	secretAPIKey   = "sk_live_abcdef1234567890"
	secretURLUser  = "svc:Sup3rS3cret@"
	secretCard     = "4111 1111 1111 1111"
)

// message is 200 bytes with URL credentials and a card number in it.
func message() string {
	m := "payment processed for order 12345 via https://" + secretURLUser + "payments.internal:8443/v1/charge card " +
		secretCard + " amount 42.00 EUR"
	return m + strings.Repeat(" ok", (200-len(m))/3) + strings.Repeat(".", (200-len(m))%3)
}

// typicalRecord: 10 attributes (two of them credentials, one a nested map) and a 200-byte message.
func typicalRecord(lr plog.LogRecord) {
	a := lr.Attributes()
	a.PutStr("http.method", "GET")
	a.PutStr("http.route", "/api/v1/orders/{id}")
	a.PutInt("http.status_code", 200)
	a.PutStr("user.id", "u-12345")
	a.PutStr("request_id", "9f86d081884c7d65")
	a.PutDouble("duration_ms", 12.5)
	a.PutBool("retry", false)
	a.PutStr("password", secretPassword)
	a.PutStr("api_key", secretAPIKey)
	u := a.PutEmptyMap("user")
	u.PutStr("name", "alice")
	u.PutStr("role", "admin")
	u.PutStr("team", "payments")
	lr.Body().SetStr(message())
}

func batch() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("host.name", "node-1")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < batchSize; i++ {
		typicalRecord(lrs.AppendEmpty())
	}
	return ld
}

// restore puts the secrets back (without allocating) so that every iteration redacts again.
func restore(ld plog.Logs) {
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	msg := message()
	for i := 0; i < lrs.Len(); i++ {
		lr := lrs.At(i)
		lr.Attributes().PutStr("password", secretPassword)
		lr.Attributes().PutStr("api_key", secretAPIKey)
		lr.Body().SetStr(msg)
	}
}

// credentialsFields and credentialsPatterns are fapilog's CREDENTIALS preset, which ours applies by name.
var (
	credentialsFields = []string{
		"password", "passwd", "pwd", "pass", "secret", "api_secret", "client_secret", "shared_secret", "token",
		"access_token", "refresh_token", "auth_token", "bearer_token", "jwt", "api_key", "apikey", "api_token",
		"private_key", "secret_key", "signing_key", "encryption_key", "authorization", "auth_header", "session_id",
		"session_token", "session_key", "cookie", "session_cookie", "auth_cookie", "otp", "totp", "mfa_code",
		"verification_code",
	}
	credentialsPatterns = []string{
		`password`, `passwd`, `\bsecret\b`, `\btoken\b`, `api.?key`, `private.?key`, `auth`, `\botp\b`,
	}
)

func newOurs(b testing.TB) processor.Logs {
	f := redact.NewFactory()
	cfg := f.CreateDefaultConfig().(*redact.Config)
	cfg.Presets = []string{"CREDENTIALS"}
	vp := redact.NewDefaultValuePatternsConfig() // card_number, aws_access_key, jwt, bearer_token, private_key
	urlCreds := redact.NewDefaultURLCredentialsConfig()
	cfg.Redactors = []redact.RedactorConfig{{URLCredentials: &urlCreds}, {ValuePatterns: &vp}}
	return create(b, f, cfg)
}

func newContrib(b testing.TB) processor.Logs {
	f := redactionprocessor.NewFactory()
	cfg := f.CreateDefaultConfig().(*redactionprocessor.Config)
	cfg.AllowAllKeys = true
	cfg.Summary = "silent"
	cfg.MaskingString = "***"
	cfg.BlockedKeyPatterns = []string{
		`(?i)^(?:` + strings.Join(credentialsFields, "|") + `)$`,
		`(?i)` + strings.Join(credentialsPatterns, "|"),
	}
	cfg.BlockedValues = []string{
		`[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s@]+@`,                                      // URL userinfo
		`\b(?:\d[ -]?){12,18}\d\b`,                                                   // card numbers (no Luhn in regex)
		`\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b`,                        // AWS access keys
		`\beyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*)?`,             // JWTs
		`(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{12,}=*`,                                   // bearer tokens
		`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`, // private keys
	}
	return create(b, f, cfg)
}

func create(b testing.TB, f processor.Factory, cfg any) processor.Logs {
	b.Helper()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, consumer.Logs(nopLogs{}))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

type nopLogs struct{}

func (nopLogs) Capabilities() consumer.Capabilities          { return consumer.Capabilities{} }
func (nopLogs) ConsumeLogs(context.Context, plog.Logs) error { return nil }

// changedFields lists which attributes and whether the body differ from the input, per record.
func changedFields(in, out plog.Logs) []string {
	var changed []string
	inRecs := in.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	outRecs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < outRecs.Len(); i++ {
		a, b := inRecs.At(i), outRecs.At(i)
		for k, v := range a.Attributes().All() {
			w, ok := b.Attributes().Get(k)
			if !ok || !w.Equal(v) {
				changed = append(changed, fmt.Sprintf("%d:attributes.%s", i, k))
			}
		}
		if b.Attributes().Len() != a.Attributes().Len() {
			changed = append(changed, fmt.Sprintf("%d:attributes (count)", i))
		}
		if !a.Body().Equal(b.Body()) {
			changed = append(changed, fmt.Sprintf("%d:body", i))
		}
	}
	sort.Strings(changed)
	return changed
}

func redactOnce(b testing.TB, p processor.Logs) plog.Logs {
	ld := batch()
	if err := p.ConsumeLogs(context.Background(), ld); err != nil {
		b.Fatal(err)
	}
	return ld
}

// assertEquivalent checks, before any timing, that both processors redact exactly the same fields and that no
// secret survives either.
func assertEquivalent(b testing.TB, ours, contrib processor.Logs) {
	b.Helper()
	o, c := redactOnce(b, ours), redactOnce(b, contrib)
	oc, cc := changedFields(batch(), o), changedFields(batch(), c)
	if strings.Join(oc, ",") != strings.Join(cc, ",") {
		b.Fatalf("processors redact different fields:\nours:    %v\ncontrib: %v", oc, cc)
	}
	if len(oc) != 3*batchSize {
		b.Fatalf("expected password, api_key and body redacted in every record, got %v", oc)
	}
	for name, ld := range map[string]plog.Logs{"ours": o, "contrib": c} {
		js, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
		if err != nil {
			b.Fatal(err)
		}
		for _, secret := range []string{secretPassword, secretAPIKey, secretURLUser, secretCard, "Sup3rS3cret"} {
			if strings.Contains(string(js), secret) {
				b.Fatalf("%s left %q in the output", name, secret)
			}
		}
	}
	lr := o.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	fmt.Fprintf(os.Stderr, "ours:    %s\n", lr.Body().Str())
	lr = c.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	fmt.Fprintf(os.Stderr, "contrib: %s\n", lr.Body().Str())
}

// BenchmarkRedact runs 100-record batches through each processor's ConsumeLogs (processorhelper included
// for both) and reports ns/record, then prints the ratio.
func BenchmarkRedact(b *testing.B) {
	ours, contrib := newOurs(b), newContrib(b)
	assertEquivalent(b, ours, contrib)
	perRecord := map[string]float64{}
	for _, c := range []struct {
		name string
		p    processor.Logs
	}{{"ours", ours}, {"contrib", contrib}} {
		b.Run(c.name, func(b *testing.B) {
			ld := batch()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.p.ConsumeLogs(ctx, ld); err != nil {
					b.Fatal(err)
				}
				restore(ld)
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*batchSize)
			b.ReportMetric(ns, "ns/record")
			perRecord[c.name] = ns
		})
	}
	if perRecord["ours"] > 0 && perRecord["contrib"] > 0 {
		fmt.Printf("BenchmarkRedact: ours %.0f ns/record, contrib %.0f ns/record, ours is %.1fx faster\n",
			perRecord["ours"], perRecord["contrib"], perRecord["contrib"]/perRecord["ours"])
	}
}

// TestEquivalence runs the equivalence check under plain `go test` too.
func TestEquivalence(t *testing.T) {
	assertEquivalent(t, newOurs(t), newContrib(t))
}
