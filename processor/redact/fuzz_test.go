package redact

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/envelope"
)

// recordGen builds random nested records from a seed. Keys and filler text are neutral (no CREDENTIALS
// name or pattern, no digit run long enough for a card, nothing that looks like a URL, JWT, key or token),
// so a record without planted secrets must come out byte-identical. Planted secrets are made of characters
// JSON never escapes, so a substring search on the encoded record finds any survivor.
type recordGen struct {
	rng     *rand.Rand
	plant   bool
	secrets []string // every planted secret: none may survive
	nodes   int
}

var neutralKeys = []string{
	"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
	"mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
	"xray", "yankee", "zulu", "http.route", "user.id", "order.items", "region", "count",
}

var fillerWords = []string{
	"payment", "processed", "for", "order", "via", "status", "ok", "request", "took", "ms", "retry", "queue",
	"item", "shipped", "cart", "checkout", "latency", "worker", "batch", "flushed",
}

var credentialKeys = []string{
	"password", "passwd", "pwd", "secret", "client_secret", "token", "access_token", "refresh_token", "api_key",
	"apikey", "private_key", "authorization", "cookie", "session_id", "otp", "mfa_code", "Password", "API_KEY",
	"db.password", "http.request.header.authorization", "user_password_hash", "oauth_state",
}

var urlSchemes = []string{
	"http", "https", "ftp", "ssh", "git", "postgres", "postgresql", "mysql", "mongodb", "mongodb+srv", "redis",
	"rediss", "amqp", "amqps", "nats", "ldap", "smtps", "cockroachdb", "mssql",
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func (g *recordGen) token(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// uniqueSecret is a random token that cannot occur by chance elsewhere in the record.
func (g *recordGen) uniqueSecret() string {
	return "Zq" + g.token(14, alnum) + "9x"
}

func (g *recordGen) cardNumber() string {
	d := make([]byte, 16)
	d[0] = byte('3' + g.rng.IntN(3)) // 3, 4 or 5
	for i := 1; i < 15; i++ {
		d[i] = byte('0' + g.rng.IntN(10))
	}
	for c := byte('0'); c <= '9'; c++ {
		d[15] = c
		if luhnValid(d) {
			break
		}
	}
	s := string(d)
	switch g.rng.IntN(3) {
	case 1:
		return s[0:4] + " " + s[4:8] + " " + s[8:12] + " " + s[12:16]
	case 2:
		return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
	}
	return s
}

// secretText returns a text fragment holding one secret that only content detection can find, and records
// the parts that must not survive.
func (g *recordGen) secretText() string {
	switch g.rng.IntN(6) {
	case 0:
		c := g.cardNumber()
		g.secrets = append(g.secrets, c)
		return c
	case 1:
		user, pass := g.uniqueSecret(), g.uniqueSecret()
		g.secrets = append(g.secrets, user, pass)
		return urlSchemes[g.rng.IntN(len(urlSchemes))] + "://" + user + ":" + pass + "@Host-" + g.token(4, "abcdef") + ".example:5432/db"
	case 2:
		jwt := "eyJ" + g.token(20, alnum+"-_") + ".eyJ" + g.token(30, alnum+"-_") + "." + g.token(43, alnum+"-_")
		g.secrets = append(g.secrets, jwt)
		return jwt
	case 3:
		key := "AKIA" + g.token(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
		g.secrets = append(g.secrets, key)
		return key
	case 4:
		tok := g.uniqueSecret() + g.token(10, alnum)
		g.secrets = append(g.secrets, tok)
		return "Bearer " + tok
	default:
		line := g.uniqueSecret() + g.token(40, alnum)
		g.secrets = append(g.secrets, line)
		return "-----BEGIN PRIVATE KEY-----\n" + line + "\n-----END PRIVATE KEY-----"
	}
}

// text is filler with at most one number between words; with plant, a secret may sit inside it.
func (g *recordGen) text() string {
	var sb strings.Builder
	n := 1 + g.rng.IntN(8)
	planted := false
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(' ')
		}
		switch {
		case g.plant && !planted && g.rng.IntN(4) == 0:
			sb.WriteString(g.secretText())
			planted = true
		case i%2 == 1 && g.rng.IntN(3) == 0:
			fmt.Fprintf(&sb, "%d", g.rng.IntN(1_000_000))
		default:
			sb.WriteString(fillerWords[g.rng.IntN(len(fillerWords))])
		}
	}
	return sb.String()
}

func (g *recordGen) fillValue(v pcommon.Value, depth int, data bool) {
	g.nodes++
	if depth >= 5 || g.nodes > 300 {
		v.SetStr(g.text())
		return
	}
	switch g.rng.IntN(7) {
	case 0:
		g.fillMap(v.SetEmptyMap(), depth+1, data)
	case 1:
		s := v.SetEmptySlice()
		for n := g.rng.IntN(4); n > 0; n-- {
			g.fillValue(s.AppendEmpty(), depth+1, data)
		}
	case 2:
		v.SetInt(int64(g.rng.IntN(1_000_000)))
	case 3:
		v.SetBool(g.rng.IntN(2) == 0)
	case 4:
		v.SetDouble(g.rng.Float64())
	default:
		v.SetStr(g.text())
	}
}

func (g *recordGen) fillMap(m pcommon.Map, depth int, data bool) {
	for n := g.rng.IntN(6); n > 0; n-- {
		key := neutralKeys[g.rng.IntN(len(neutralKeys))] + fmt.Sprint(g.rng.IntN(3))
		if g.plant && data && g.rng.IntN(5) == 0 {
			// A credential under a CREDENTIALS key: masked whatever its form, even a whole subtree.
			key = credentialKeys[g.rng.IntN(len(credentialKeys))]
			secret := g.uniqueSecret()
			g.secrets = append(g.secrets, secret)
			switch g.rng.IntN(3) {
			case 0:
				m.PutStr(key, secret)
			case 1:
				inner := m.PutEmptyMap(key)
				inner.PutStr(neutralKeys[g.rng.IntN(len(neutralKeys))], secret)
			default:
				m.PutEmptySlice(key).AppendEmpty().SetStr("x " + secret)
			}
			continue
		}
		g.fillValue(m.PutEmpty(key), depth, data)
	}
}

func (g *recordGen) logs(records int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	// Presets cover the record's data, not the resource: only content secrets are planted there.
	g.fillMap(rl.Resource().Attributes(), 1, false)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("fuzz")
	for i := 0; i < records; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(i)))
		g.fillMap(lr.Attributes(), 1, true)
		switch g.rng.IntN(3) {
		case 0:
			g.fillMap(lr.Body().SetEmptyMap(), 1, true)
		case 1:
			s := lr.Body().SetEmptySlice()
			g.fillValue(s.AppendEmpty(), 1, true)
		default:
			lr.Body().SetStr(g.text())
		}
	}
	return ld
}

func fuzzConfig() *Config {
	cfg := testConfig(urlCreds(defaultURLMaxLength), valuePatternsRedactor())
	cfg.Presets = []string{"CREDENTIALS"}
	return cfg
}

// encodeAll renders the batch the way it leaves the collector: every record as its fapilog envelope, plus the
// whole OTLP batch as JSON (resource, scope, attributes and body included).
func encodeAll(t *testing.T, ld plog.Logs) []byte {
	var out []byte
	var e envelope.Entry
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				e.Reset(rl.Resource(), sl.Scope(), sl.LogRecords().At(k), time.Unix(0, 0))
				out = e.AppendJSON(out)
				out = append(out, '\n')
			}
		}
	}
	js, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, js...)
}

func FuzzRedactRecords(f *testing.F) {
	for seed := uint64(0); seed < 24; seed++ {
		f.Add(seed, seed%2 == 0, uint8(1+seed%4))
	}
	p := newTestProcessor(f, fuzzConfig())
	f.Fuzz(func(t *testing.T, seed uint64, plant bool, records uint8) {
		g := &recordGen{rng: rand.New(rand.NewPCG(seed, 0x5eed)), plant: plant}
		ld := g.logs(1 + int(records%8))
		before, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		after, err := (&plog.ProtoMarshaler{}).MarshalLogs(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(g.secrets) == 0 {
			if !bytes.Equal(before, after) {
				t.Fatalf("a record without secrets changed:\nbefore: %s\nafter:  %s", jsonOf(t, mustUnmarshal(t, before)), jsonOf(t, out))
			}
			return
		}
		encoded := encodeAll(t, out)
		for _, s := range g.secrets {
			if bytes.Contains(encoded, []byte(s)) {
				t.Fatalf("secret %q survived redaction:\n%s", s, encoded)
			}
		}
		// Redacting again changes nothing.
		again, err := p.processLogs(context.Background(), out)
		if err != nil {
			t.Fatal(err)
		}
		twice, err := (&plog.ProtoMarshaler{}).MarshalLogs(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(after, twice) {
			t.Fatalf("redaction is not idempotent:\nonce:  %s\ntwice: %s", jsonOf(t, mustUnmarshal(t, after)), jsonOf(t, again))
		}
	})
}

func mustUnmarshal(t *testing.T, b []byte) plog.Logs {
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(b)
	if err != nil {
		t.Fatal(err)
	}
	return ld
}

// FuzzRedactString runs the string redactors on arbitrary text with a secret planted at an arbitrary place
// (between spaces): the secret must not survive, and redacting the result again must change nothing.
func FuzzRedactString(f *testing.F) {
	for i, s := range []string{
		"", "plain text", "x@y", "https://u:p@h/ and //v:w@k", "4111 1111 1111 1111", "Bearer ", "-----BEGIN ",
		"eyJ.eyJ.", "AKIA", "a@b.co", "12 345 678", "[HASHED:card_number:0123456789abcdef]", "http://@/",
		"é\xff\x00", strings.Repeat("9", 40),
	} {
		f.Add(s, uint8(i), uint16(i*3))
	}
	vp := valuePatternsRedactor(valueKinds...)
	p := newTestProcessor(f, testConfig(urlCreds(0), vp, truncateAt(5000)))
	f.Fuzz(func(t *testing.T, s string, kind uint8, pos uint16) {
		g := &recordGen{rng: rand.New(rand.NewPCG(uint64(kind), uint64(pos)))}
		secret := g.secretText()
		at := int(pos) % (len(s) + 1)
		in := s[:at] + " " + secret + " " + s[at:]
		once := redactString(t, p, in)
		for _, part := range g.secrets {
			if strings.Contains(once, part) {
				t.Fatalf("secret %q survived in %q -> %q", part, in, once)
			}
		}
		if twice := redactString(t, p, once); twice != once {
			t.Fatalf("not idempotent:\nonce:  %q\ntwice: %q", once, twice)
		}
		if plain := redactString(t, p, s); redactString(t, p, plain) != plain {
			t.Fatalf("not idempotent on %q", s)
		}
	})
}
