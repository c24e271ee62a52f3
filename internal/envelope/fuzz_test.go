package envelope

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// roundTrip is what a string becomes after encoding/json writes it and reads it back: the reference for ours.
func roundTrip(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

func floatAsDecoded(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// FuzzEnvelopeJSON checks that any record encodes to valid JSON that decodes back to the values put in.
func FuzzEnvelopeJSON(f *testing.F) {
	f.Add("hello", "key", "value", int64(42), 1.5, []byte("raw"), uint8(2), "INFO", int64(1_700_000_000_000_000_000))
	f.Add("quote \" backslash \\ newline \n", "k\"ey", "\x00\x1f\x7f", int64(-1), math.NaN(), []byte{}, uint8(0), "warn", int64(0))
	f.Add("bad \xff\xfe utf8", "\u2028", "emoji 😀 \u2029", int64(math.MinInt64), math.Inf(-1), []byte{0xff}, uint8(30), "", int64(-1))
	f.Add("", "", "", int64(0), 1e-300, []byte(nil), uint8(200), "fatal", int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, body, key, str string, i int64, fl float64, raw []byte, depth uint8, severity string, ts int64) {
		key = "k_" + key // keep clear of the attribute names the envelope lifts out of data
		decodedKey := roundTrip(key)
		ld := build(func(_ pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord) {
			scope.SetName(str)
			lr.SetSeverityText(severity)
			lr.SetTimestamp(pcommon.Timestamp(uint64(ts)))
			lr.Body().SetStr(body)
			a := lr.Attributes()
			a.PutStr(key, str)
			a.PutInt("int", i)
			a.PutDouble("float", fl)
			a.PutEmptyBytes("bytes").FromRaw(raw)
			nested := a.PutEmptyMap("nested")
			for d := 0; d < int(depth)%64; d++ {
				nested = nested.PutEmptyMap(key)
			}
			nested.PutStr("leaf", str)
			nested.PutEmptySlice("list").AppendEmpty().SetStr(body)
		})
		e := entryOf(ld)
		for _, line := range [][]byte{e.AppendJSON(nil), e.AppendJSONLine(nil)} {
			if !json.Valid(line) {
				t.Fatalf("invalid JSON: %q", line)
			}
		}
		var env map[string]any
		if err := json.Unmarshal(e.AppendJSON(nil), &env); err != nil {
			t.Fatal(err)
		}
		data := env["data"].(map[string]any)
		want := map[string]any{
			"message": roundTrip(body), "logger": roundTrip(str),
			"data." + key: roundTrip(str), "data.int": float64(i), "data.float": floatAsDecoded(fl),
			"data.bytes": base64.StdEncoding.EncodeToString(raw),
		}
		if str == "" {
			want["logger"] = "root"
		}
		got := map[string]any{
			"message": env["message"], "logger": env["logger"],
			"data." + key: data[decodedKey], "data.int": data["int"], "data.float": data["float"], "data.bytes": data["bytes"],
		}
		if fl := fl; !math.IsNaN(fl) && !math.IsInf(fl, 0) {
			// JSON numbers go through float64 on the way back; compare exactly.
			if got["data.float"] != fl {
				t.Fatalf("float %v came back as %v", fl, got["data.float"])
			}
		}
		if math.Abs(float64(i)) < 1<<53 && !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip mismatch:\n got %#v\nwant %#v", got, want)
		}
		nested := data["nested"].(map[string]any)
		for d := 0; d < int(depth)%64; d++ {
			nested = nested[decodedKey].(map[string]any)
		}
		if nested["leaf"] != roundTrip(str) {
			t.Fatalf("nested leaf %q, want %q", nested["leaf"], roundTrip(str))
		}
		if _, err := time.Parse(time.RFC3339Nano, env["timestamp"].(string)); err != nil {
			t.Fatalf("timestamp %q: %v", env["timestamp"], err)
		}
	})
}

// FuzzJSONString compares our string escaping with encoding/json's after decoding both.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text longer than eight", "\"\\\n\r\t\b\f\x00\x01\x1f", "\xff\xc3\x28 ok", "\u2028\u2029", "日本語😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString(nil, s)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON for %q: %q", s, out)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if back != roundTrip(s) {
			t.Fatalf("%q decoded as %q, want %q", s, back, roundTrip(s))
		}
	})
}

// FuzzJSONFloat compares the float writer with strconv (and encoding/json's exponent form), the definition it
// shortcuts for short decimals.
func FuzzJSONFloat(f *testing.F) {
	for _, v := range []float64{12.5, -12.5, 0.1, 0.3, 1e-6, 9.999999e-7, 123456.789, 2147483647.5, 1 << 31, math.Copysign(0, -1), 0, 1e21, 0.1 + 0.2, 4.35, 1.005} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		want, _ := json.Marshal(v)
		if got := appendJSONFloat(nil, v); string(got) != string(want) {
			t.Fatalf("%v (%#x): got %s, want %s", v, math.Float64bits(v), got, want)
		}
	})
}
