package envelope

import (
	"encoding/json"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The inputs SPEC section 7 calls bad: each must encode to valid JSON with nothing lost.
func TestEncode_ExtremeInputsStayValidAndComplete(t *testing.T) {
	t.Run("5 MB body", func(t *testing.T) {
		body := strings.Repeat("x\"\n\xff", 5<<20/4)
		env := decoded(t, build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) { lr.Body().SetStr(body) }))
		assert.Equal(t, roundTrip(body), env["message"])
	})
	t.Run("10,000 attributes", func(t *testing.T) {
		env := decoded(t, build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			for i := 0; i < 10_000; i++ {
				lr.Attributes().PutInt("attr"+strconv.Itoa(i), int64(i))
			}
		}))
		data := env["data"].(map[string]any)
		assert.Len(t, data, 10_000)
		assert.Equal(t, float64(9_999), data["attr9999"])
	})
	t.Run("nesting depth 1,000", func(t *testing.T) {
		ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
			m := lr.Attributes().PutEmptyMap("deep")
			for i := 0; i < 1000; i++ {
				m = m.PutEmptyMap("d")
			}
			m.PutStr("leaf", "bottom")
		})
		out := entryOf(ld).AppendJSON(nil)
		require.True(t, json.Valid(out))
		assert.Equal(t, 1000, strings.Count(string(out), `"d":{`), "every level kept")
		assert.Contains(t, string(out), `{"leaf":"bottom"}`)
	})
	t.Run("empty record", func(t *testing.T) {
		env := decoded(t, build(func(pcommon.Resource, pcommon.InstrumentationScope, plog.LogRecord) {}))
		assert.Equal(t, "", env["message"])
		assert.Equal(t, "INFO", env["level"])
		assert.Equal(t, map[string]any{}, env["data"])
	})
}

// hostileShapes are records that are small on the wire but deep or wide: the inputs that made the pretty console
// need memory quadratic in depth (issue 8) and that a recursive encoder pays for in goroutine stack.
var hostileShapes = []struct {
	name string
	fill func(lr plog.LogRecord)
}{
	{"map chain of depth 1,000", func(lr plog.LogRecord) { mapChain(lr.Attributes().PutEmptyMap("deep"), 1_000) }},
	{"map chain of depth 100,000", func(lr plog.LogRecord) { mapChain(lr.Attributes().PutEmptyMap("deep"), 100_000) }},
	{"list chain of depth 100,000 as body", func(lr plog.LogRecord) {
		l := lr.Body().SetEmptySlice()
		for i := 0; i < 100_000; i++ {
			l = l.AppendEmpty().SetEmptySlice()
		}
		l.AppendEmpty().SetStr("bottom")
	}},
	{"map of 100,000 keys", func(lr plog.LogRecord) {
		raw := make(map[string]any, 100_000)
		for i := 0; i < 100_000; i++ {
			raw["k"+strconv.Itoa(i)] = int64(i)
		}
		_ = lr.Attributes().PutEmptyMap("wide").FromRaw(raw) // Put* looks each key up first: quadratic to build
	}},
	{"20 levels of 1 KB keys over 1,000 leaves", func(lr plog.LogRecord) {
		m := lr.Attributes()
		for i := 0; i < 20; i++ {
			m = m.PutEmptyMap(strings.Repeat(string(rune('a'+i)), 1000))
		}
		for i := 0; i < 1_000; i++ {
			m.PutInt("k"+strconv.Itoa(i), int64(i))
		}
	}},
}

func mapChain(m pcommon.Map, depth int) {
	for i := 0; i < depth; i++ {
		m = m.PutEmptyMap("d")
	}
	m.PutStr("leaf", "bottom")
}

var hostileEncoders = []struct {
	name   string
	encode func(e *Entry, dst []byte) []byte
}{
	{"json line", (*Entry).AppendJSONLine},
	{"json", (*Entry).AppendJSON},
	{"text", (*Entry).AppendText},
	{"pretty", func(e *Entry, dst []byte) []byte { return e.AppendPretty(dst, PrettyOptions{Location: time.UTC}) }},
	{"message_id", func(e *Entry, dst []byte) []byte { return append(dst, e.derivedMessageID()...) }},
}

// encodeCost encodes the record once with a fresh Entry on a fresh goroutine and reports the output, the heap
// bytes allocated and how much the goroutine stacks grew meanwhile.
func encodeCost(ld plog.Logs, encode func(e *Entry, dst []byte) []byte) (out []byte, heap, stack int64) {
	res, scope, lr := first(ld)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done, release := make(chan struct{}), make(chan struct{})
	go func() {
		var e Entry
		e.Reset(res, scope, lr, receivedAt)
		out = encode(&e, nil)
		close(done)
		<-release // keep the goroutine, and so its grown stack, alive while the stacks are measured
	}()
	<-done
	runtime.ReadMemStats(&after)
	close(release)
	return out, int64(after.TotalAlloc - before.TotalAlloc), int64(after.StackInuse) - int64(before.StackInuse)
}

func TestEncode_HostileNestingCostsLinearMemoryAndNoStack(t *testing.T) {
	for _, shape := range hostileShapes {
		ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) { shape.fill(lr) })
		wire := (&plog.ProtoMarshaler{}).LogsSize(ld)
		for _, enc := range hostileEncoders {
			out, heap, stack := encodeCost(ld, enc.encode)
			t.Logf("%s, %s: %d bytes on the wire, %d out, %d heap, %d stack", shape.name, enc.name, wire, len(out), heap, stack)
			assert.LessOrEqual(t, len(out), 2*wire, "%s, %s: output proportional to the input", shape.name, enc.name)
			// A fresh Entry grows its scratch (a frame and an entry per open level, and the output) by doubling.
			assert.LessOrEqual(t, heap, raceHeapFactor*int64(24*wire+64<<10), "%s, %s: heap proportional to the input", shape.name, enc.name)
			assert.Less(t, stack, int64(256<<10), "%s, %s: the goroutine stack does not grow with depth", shape.name, enc.name)
		}
	}
}

func TestEncode_HostileNestingKeepsEveryLevel(t *testing.T) {
	ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		mapChain(lr.Attributes().PutEmptyMap("deep"), 100_000)
	})
	e := entryOf(ld)
	for _, out := range [][]byte{e.AppendJSON(nil), e.AppendText(nil)} {
		assert.Equal(t, 100_000, strings.Count(string(out), `"d":{`), "every level is written: %.200s", out)
		assert.Contains(t, string(out), `{"leaf":"bottom"}`)
	}
	pretty := string(e.AppendPretty(nil, PrettyOptions{Location: time.UTC}))
	assert.Contains(t, pretty, " deep.d.d.d.d.d.d.d={\"d\":{", "flattened to the pretty depth bound, then JSON")
	assert.Equal(t, 100_000-7, strings.Count(pretty, `"d":{`))
	assert.True(t, strings.HasSuffix(pretty, `{"leaf":"bottom"}`+strings.Repeat("}", 100_000-7)+"\n"))
}

func TestEncode_WarmEntryEncodesDepth1000WithoutAllocating(t *testing.T) {
	ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		mapChain(lr.Attributes().PutEmptyMap("deep"), 1_000)
		l := lr.Attributes().PutEmptySlice("list")
		for i := 0; i < 1_000; i++ {
			l = l.AppendEmpty().SetEmptySlice()
		}
	})
	res, scope, lr := first(ld)
	for _, enc := range hostileEncoders {
		var e Entry
		buf := make([]byte, 0, 64<<10)
		allocs := testing.AllocsPerRun(20, func() {
			e.Reset(res, scope, lr, receivedAt)
			buf = enc.encode(&e, buf[:0])
		})
		assert.Zero(t, allocs, enc.name)
	}
}

func TestPretty_FlattensToAFixedDepthAndKeyLengthThenWritesJSON(t *testing.T) {
	ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		m := lr.Attributes().PutEmptyMap("a")
		for _, k := range []string{"b", "c", "d", "e", "f", "g"} {
			m = m.PutEmptyMap(k)
		}
		m.PutInt("h", 8)                                             // eight keys deep: flattened
		m.PutEmptyMap("i").PutEmptyMap("j").PutStr("k", "two words") // deeper: JSON under the eighth key
		lr.Attributes().PutEmptyMap(strings.Repeat("L", 300)).PutInt("x", 1)
	})
	got := string(entryOf(ld).AppendPretty(nil, PrettyOptions{Location: time.UTC}))
	assert.Equal(t, "2026-01-02 03:04:05 | INFO     |  "+strings.Repeat("L", 300)+`={"x":1}`+
		" a.b.c.d.e.f.g.h=8 a.b.c.d.e.f.g.i='{\"j\":{\"k\":\"two words\"}}'\n", got)
}

func TestEnvelope_UnrepresentableTimestampsFallBackAndAreKept(t *testing.T) {
	observed := pcommon.NewTimestampFromTime(time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC))
	tests := []struct {
		name                string
		timestamp, observed pcommon.Timestamp
		wantTime            string
		wantKept            any
	}{
		{"timestamp 2^63 ns: the observed time is used", 1 << 63, observed, "2026-01-02T03:04:05.678Z",
			map[string]any{"time_unix_nano": "9223372036854775808"}},
		{"both unrepresentable: the receive time is used", math.MaxUint64, 1<<63 + 5, "2026-05-06T07:08:09.000Z",
			map[string]any{"time_unix_nano": "18446744073709551615", "observed_time_unix_nano": "9223372036854775813"}},
		{"observed unrepresentable, timestamp fine", observed, math.MaxUint64, "2026-01-02T03:04:05.678Z",
			map[string]any{"observed_time_unix_nano": "18446744073709551615"}},
		{"2^63-1 ns is the last representable time", math.MaxInt64, 0, "2262-04-11T23:47:16.854Z", nil},
	}
	ids := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
				lr.SetTimestamp(tt.timestamp)
				lr.SetObservedTimestamp(tt.observed)
			})
			env := decoded(t, ld)
			assert.Equal(t, tt.wantTime, env["timestamp"])
			kept, present := env["diagnostics"].(map[string]any)["unrepresentable_time"]
			if tt.wantKept == nil {
				assert.False(t, present)
			} else {
				assert.Equal(t, tt.wantKept, kept)
			}
			assert.True(t, strings.HasPrefix(string(entryOf(ld).AppendPretty(nil, PrettyOptions{Location: time.UTC})), strings.Replace(tt.wantTime[:19], "T", " ", 1)))
			ids[entryOf(ld).MessageID()] = true
		})
	}
	assert.Len(t, ids, len(tests), "the derived message_id hashes the original values")
}

func TestPretty_SenderKeysCannotBreakTheConsoleLine(t *testing.T) {
	ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.Attributes().PutEmptyMap("outer\n2026-01-01 00:00:00 | CRITICAL | forged").PutStr("in\rner", "v")
	})
	got := string(entryOf(ld).AppendPretty(nil, PrettyOptions{Location: time.UTC}))
	assert.Equal(t, 1, strings.Count(got, "\n"))
	assert.Contains(t, got, ` outer\n2026-01-01 00:00:00 | CRITICAL | forged.in\rner=v`)
}

// The level (a sender's SeverityText when it is not a known one) and each line of an exception's stack are the
// sender's too: no line forged, no escape sequence sent to the terminal.
func TestPretty_SenderLevelAndStackCannotBreakTheConsole(t *testing.T) {
	ld := build(func(_ pcommon.Resource, _ pcommon.InstrumentationScope, lr plog.LogRecord) {
		lr.SetSeverityText("x\n2026-01-02 03:04:05 | CRITICAL | forged\x1b[2J")
		lr.Body().SetStr("boom")
		lr.Attributes().PutStr("exception.stacktrace", "Traceback\x1b[2J\rforged\n\tat x")
	})
	got := string(entryOf(ld).AppendPretty(nil, PrettyOptions{Location: time.UTC}))
	assert.NotContains(t, got, "\x1b")
	assert.NotContains(t, got, "\r")
	assert.Equal(t, 3, strings.Count(got, "\n"), "the record's line and the stack's two: %q", got)
	assert.Contains(t, got, `X\n2026-01-02 03:04:05 | CRITICAL | FORGED\x1b[2J`)
	assert.Contains(t, got, "\n    Traceback\\x1b[2J\\rforged\n        at x\n", "tabs become spaces")
}

// FuzzPrettyText checks the console escaping against its definition: one output line, every control character,
// DEL and (quoted) single quote escaped, everything else copied.
func FuzzPrettyText(f *testing.F) {
	for _, s := range []string{"", "plain console text longer than sixteen", "tab\there\nnew\rline\x00\x1f\x7f", "it's 'quoted'", "ünïcödé 日本 \xff\xfe"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, quoted bool) {
		var want []byte
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == '\'' && quoted:
				want = append(want, '\\', '\'')
			case c == '\n':
				want = append(want, `\n`...)
			case c == '\r':
				want = append(want, `\r`...)
			case c == '\t':
				want = append(want, `\t`...)
			case c < 0x20 || c == 0x7f:
				want = append(want, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				want = append(want, c)
			}
		}
		if got := appendPrettyText(nil, s, quoted); string(got) != string(want) {
			t.Fatalf("%q (quoted %v): got %q, want %q", s, quoted, got, want)
		}
	})
}

// The scratch does not clear a nested map's entries as it pops them (every cleared pointer costs a write barrier
// while the collector marks), so ForEach clears them when the batch is done: an exporter's Entry must not keep
// a finished batch from being collected.
func TestForEach_ScratchKeepsNoValueOfAFinishedBatch(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i := 0; i < 3; i++ {
		lr := sl.LogRecords().AppendEmpty()
		wide := lr.Attributes().PutEmptyMap("wide") // beyond what is written from the goroutine stack
		for k := 0; k < flatMapMax+i; k++ {
			wide.PutEmptyMap("k"+strconv.Itoa(k)).PutInt("v", int64(k))
		}
	}
	var e Entry
	var out []byte
	ForEach(ld, receivedAt, &e, func(e *Entry, _ plog.LogRecord) {
		out = e.AppendJSONLine(out)
		out = e.AppendPretty(out, PrettyOptions{})
	})
	require.Contains(t, string(out), `"k9":{"v":9}`)
	require.NotZero(t, cap(e.scratch.stack))
	for i, kv := range e.scratch.stack[:cap(e.scratch.stack)] {
		require.Equal(t, keyedValue{}, kv, "scratch entry %d still refers to the batch", i)
	}
}
