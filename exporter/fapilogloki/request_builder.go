package fapilogloki

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/internal/delivery"
	"github.com/fapilog/fapilog-otelcol/internal/envelope"
	"github.com/fapilog/fapilog-otelcol/internal/lokilabel"
)

// span is where bytes lie in a batch's arena.
type span struct{ start, end int }

// entry is one record of a batch: its line (the envelope JSON, serialized once), its own timestamp, its stream,
// and its structured metadata.
type entry struct {
	ns     int64 // the record's time, unix nanoseconds
	record int   // position of the record in the batch (ResourceLogs/ScopeLogs/LogRecords order)
	stream int
	line   span
	meta   struct{ start, end int } // range in batch.meta
}

// metaPair is one structured metadata pair; name indexes requestBuilder.metaNames. value may point into the
// records being pushed: it is used before push returns.
type metaPair struct {
	name  int
	value string
}

// stream is one label set of one tenant in a batch: its tenant, its dynamic label values, and after finish the
// range of its entries.
type stream struct {
	tenant  int                      // index in batch.tenants
	values  struct{ start, end int } // range in batch.values
	next    int                      // next stream with the same hash, -1 at the end of the chain (while building)
	entries struct{ start, end int } // range in batch.entries once sorted
}

// batch is one push's records grouped into streams, the streams of each tenant together. Its buffers are reused
// from push to push.
type batch struct {
	arena   []byte
	entries []entry
	meta    []metaPair
	values  []string // dynamic label values of each stream, back to back
	streams []stream
	byHash  map[uint64]int // streams by the hash of their tenant and values, once there are more than scannedStreams

	tenants        []string       // the push's distinct tenants, in the order their first record comes
	tenantIndex    map[string]int // index of each tenant in tenants
	resourceTenant []int          // tenant of each ResourceLogs
	resourceEnd    []int          // records up to the end of each ResourceLogs
	// overflowed says which ResourceLogs went to the default tenant because max_destinations was reached,
	// refusedTenant the first tenant so refused ("" when none was).
	overflowed    []bool
	refusedTenant string

	recordValues []string  // the current record's dynamic label values
	labelMemo    labelMemo // label values already given to earlier records of the push
	scratch      []byte
	order, rank  []int    // stream permutation when grouping streams by tenant
	grouped      []stream // streams in tenant order, swapped with streams
	grouping     []entry  // entries grouped by stream, swapped with entries
}

func (b *batch) reset(dynamicLabels int) {
	b.arena, b.entries, b.meta, b.values, b.streams = b.arena[:0], b.entries[:0], b.meta[:0], b.values[:0], b.streams[:0]
	b.tenants, b.resourceTenant, b.resourceEnd = b.tenants[:0], b.resourceTenant[:0], b.resourceEnd[:0]
	b.overflowed, b.refusedTenant = b.overflowed[:0], ""
	if b.byHash == nil {
		b.byHash, b.tenantIndex = map[uint64]int{}, map[string]int{}
	}
	clear(b.byHash)
	clear(b.tenantIndex)
	if cap(b.recordValues) < dynamicLabels {
		b.recordValues = make([]string, dynamicLabels)
	}
	b.recordValues = b.recordValues[:dynamicLabels]
	b.labelMemo.reset(dynamicLabels)
}

// release drops the references a batch holds into the records it was built from, before it goes back to a pool.
func (b *batch) release() {
	clear(b.values)
	clear(b.meta[:cap(b.meta)])
	clear(b.recordValues)
	b.labelMemo.release()
}

// overflowIn is how many records of chunk c went to the default tenant because max_destinations was reached.
func (b *batch) overflowIn(c chunk) int {
	if b.refusedTenant == "" {
		return 0
	}
	n := 0
	for _, en := range b.entriesOf(c) {
		if resource, _ := slices.BinarySearch(b.resourceEnd, en.record+1); b.overflowed[resource] {
			n++
		}
	}
	return n
}

// tenantOf is the tenant of the requests of chunk c (a chunk never mixes tenants).
func (b *batch) tenantOf(c chunk) string { return b.tenants[b.streams[c.start].tenant] }

func (b *batch) streamValues(s *stream) []string { return b.values[s.values.start:s.values.end] }

// scannedStreams is how many streams a batch may have before they are found by hash: up to it, comparing the
// values of each stream (interned strings, mostly equal pointers) is cheaper than hashing a record's values.
const scannedStreams = 8

// streamFor returns the index of the stream of tenant whose dynamic label values are values, adding it when new.
func (b *batch) streamFor(tenant int, values []string) int {
	if len(b.streams) <= scannedStreams {
		for i := range b.streams {
			if b.streams[i].tenant == tenant && slices.Equal(b.streamValues(&b.streams[i]), values) {
				return i
			}
		}
		if len(b.streams) < scannedStreams {
			return b.addStream(tenant, values)
		}
		for i := range b.streams { // from now on streams are found by hash
			b.index(i)
		}
	}
	h := streamHash(tenant, values)
	if first, found := b.byHash[h]; found {
		for i := first; i >= 0; i = b.streams[i].next {
			if b.streams[i].tenant == tenant && slices.Equal(b.streamValues(&b.streams[i]), values) {
				return i
			}
		}
	}
	i := b.addStream(tenant, values)
	b.index(i)
	return i
}

func (b *batch) addStream(tenant int, values []string) int {
	s := stream{tenant: tenant, next: -1}
	s.values.start = len(b.values)
	b.values = append(b.values, values...)
	s.values.end = len(b.values)
	b.streams = append(b.streams, s)
	return len(b.streams) - 1
}

// index puts stream i at the head of the chain of its hash.
func (b *batch) index(i int) {
	s := &b.streams[i]
	h := streamHash(s.tenant, b.streamValues(s))
	if first, found := b.byHash[h]; found {
		s.next = first
	}
	b.byHash[h] = i
}

func streamHash(tenant int, values []string) uint64 {
	var d xxhash.Digest
	d.Reset()
	var t [8]byte
	binary.LittleEndian.PutUint64(t[:], uint64(tenant))
	_, _ = d.Write(t[:])
	for _, v := range values {
		_, _ = d.WriteString(v)
		_, _ = d.Write(valueSeparator[:]) // values are sanitised ASCII: 0xff never occurs in them
	}
	return d.Sum64()
}

var valueSeparator = [1]byte{0xff}

// requestBuilder turns a push's records into batches of streams and splits them into requests of one tenant and
// at most max_streams_per_request streams each. Each record is serialized once, into the batch's arena.
type requestBuilder struct {
	labels     *labeler
	tenants    *tenants
	metaPaths  []string
	metaNames  []string
	maxStreams int // 0: no limit
}

func newRequestBuilder(cfg *Config, labels *labeler, tenants *tenants) *requestBuilder {
	rb := &requestBuilder{labels: labels, tenants: tenants, maxStreams: cfg.MaxStreamsPerRequest}
	for _, path := range cfg.StructuredMetadataKeys {
		rb.metaPaths = append(rb.metaPaths, path)
		rb.metaNames = append(rb.metaNames, lokilabel.NameFromPath(path))
	}
	return rb
}

// build fills b with the records of ld: entries grouped by tenant and stream (tenants, and the streams of each,
// in the order their first record comes), entries sorted by timestamp within each stream, records with the same
// timestamp kept in their order.
func (rb *requestBuilder) build(ld plog.Logs, receivedAt time.Time, e *envelope.Entry, b *batch) {
	b.reset(len(rb.labels.dynamic))
	rb.route(ld, b)
	record, resource := 0, 0
	envelope.ForEach(ld, receivedAt, e, func(e *envelope.Entry, _ plog.LogRecord) {
		for record >= b.resourceEnd[resource] {
			resource++
		}
		rb.add(e, record, b.resourceTenant[resource], b)
		record++
	})
	rb.finish(b)
}

// route resolves the tenant of each ResourceLogs once, for all its records.
func (rb *requestBuilder) route(ld plog.Logs, b *batch) {
	end := 0
	for _, rl := range ld.ResourceLogs().All() {
		records := 0
		for _, sl := range rl.ScopeLogs().All() {
			records += sl.LogRecords().Len()
		}
		end += records
		b.resourceEnd = append(b.resourceEnd, end)
		if records == 0 { // nothing to send: never admit a tenant (one of max_destinations) for it
			b.resourceTenant, b.overflowed = append(b.resourceTenant, -1), append(b.overflowed, false)
			continue
		}
		tenant, refused := rb.tenants.of(rl.Resource())
		b.overflowed = append(b.overflowed, refused != "")
		if refused != "" && b.refusedTenant == "" {
			b.refusedTenant = refused
		}
		i, known := b.tenantIndex[tenant]
		if !known {
			i = len(b.tenants)
			b.tenants = append(b.tenants, tenant)
			b.tenantIndex[tenant] = i
		}
		b.resourceTenant = append(b.resourceTenant, i)
	}
}

func (rb *requestBuilder) add(e *envelope.Entry, record, tenant int, b *batch) {
	en := entry{ns: e.Time().UnixNano(), record: record}
	en.line.start = len(b.arena)
	b.arena = e.AppendJSON(b.arena)
	en.line.end = len(b.arena)

	rb.labels.fill(e, b.recordValues, &b.scratch, &b.labelMemo)
	en.stream = b.streamFor(tenant, b.recordValues)

	en.meta.start = len(b.meta)
	for i, path := range rb.metaPaths {
		if v, ok := e.Field(path); ok && v != "" {
			b.meta = append(b.meta, metaPair{name: i, value: validUTF8(v)})
		}
	}
	en.meta.end = len(b.meta)
	b.entries = append(b.entries, en)
}

func (rb *requestBuilder) finish(b *batch) {
	if len(b.tenants) > 1 {
		b.groupByTenant()
	}
	b.groupByStream()
	for i := range b.streams {
		s := &b.streams[i]
		sortByTime(b.entries[s.entries.start:s.entries.end])
	}
}

// groupByStream moves the entries of each stream together, streams in order, keeping the records' order within
// a stream (a counting sort: linear, where sorting by stream and time compared every pair it moved), and sets
// each stream's range.
func (b *batch) groupByStream() {
	if len(b.streams) == 1 {
		b.streams[0].entries.start, b.streams[0].entries.end = 0, len(b.entries)
		return
	}
	for i := range b.streams {
		b.streams[i].entries.start, b.streams[i].entries.end = 0, 0
	}
	for i := range b.entries {
		b.streams[b.entries[i].stream].entries.end++
	}
	next := 0
	for i := range b.streams {
		s := &b.streams[i]
		count := s.entries.end
		s.entries.start, s.entries.end = next, next // end is where the stream's next entry goes
		next += count
	}
	if cap(b.grouping) < len(b.entries) {
		b.grouping = make([]entry, len(b.entries))
	}
	b.grouping = b.grouping[:len(b.entries)]
	for _, en := range b.entries {
		s := &b.streams[en.stream]
		b.grouping[s.entries.end] = en
		s.entries.end++
	}
	b.entries, b.grouping = b.grouping, b.entries
}

// sortByTime sorts one stream's entries, which are in record order, by timestamp, records with the same
// timestamp kept in their order. Records mostly come in time order, or (a client sending newest first) in
// reverse: both cost one pass.
func sortByTime(entries []entry) {
	ascending, descending := true, true
	for i := 1; i < len(entries); i++ {
		ascending = ascending && entries[i-1].ns <= entries[i].ns
		descending = descending && entries[i-1].ns > entries[i].ns // strictly: reversing ties would swap them
		if !ascending && !descending {
			break
		}
	}
	switch {
	case ascending:
	case descending:
		slices.Reverse(entries)
	default:
		slices.SortFunc(entries, func(x, y entry) int {
			if c := cmp.Compare(x.ns, y.ns); c != 0 {
				return c
			}
			return cmp.Compare(x.record, y.record)
		})
	}
}

// groupByTenant reorders the streams so that each tenant's are contiguous (tenants in first-seen order, the
// streams of a tenant in theirs) and renumbers the entries' streams to match.
func (b *batch) groupByTenant() {
	b.order = b.order[:0]
	for i := range b.streams {
		b.order = append(b.order, i)
	}
	slices.SortStableFunc(b.order, func(x, y int) int { return cmp.Compare(b.streams[x].tenant, b.streams[y].tenant) })
	b.rank = resize(b.rank, len(b.streams))
	b.grouped = b.grouped[:0]
	for to, from := range b.order {
		b.rank[from] = to
		b.grouped = append(b.grouped, b.streams[from])
	}
	for i := range b.entries {
		b.entries[i].stream = b.rank[b.entries[i].stream]
	}
	b.streams, b.grouped = b.grouped, b.streams
}

// chunk is the streams [start, end) of a batch that go out in one request: streams of one tenant.
type chunk struct{ start, end int }

// chunks splits b's streams into requests of one tenant and at most maxStreams streams each, in order.
func (rb *requestBuilder) chunks(b *batch, dst []chunk) []chunk {
	dst = dst[:0]
	size := rb.maxStreams
	if size <= 0 {
		size = len(b.streams)
	}
	for start := 0; start < len(b.streams); {
		end := start + 1
		for end < len(b.streams) && end-start < size && b.streams[end].tenant == b.streams[start].tenant {
			end++
		}
		dst = append(dst, chunk{start, end})
		start = end
	}
	return dst
}

// plan fills the delivery plan of a push whose batch b was split into chunks: request i carries the records of
// chunk i. Every record is in a request; the builder leaves none out.
func (rb *requestBuilder) plan(b *batch, chunks []chunk, p *delivery.Plan) {
	p.Reset(len(b.entries))
	for i, c := range chunks {
		for _, en := range b.entriesOf(c) {
			p.Owner[en.record] = int32(i)
		}
	}
	p.Requests = len(chunks)
}

// entriesOf is the range of b.entries a chunk carries (entries are sorted by stream, so it is contiguous).
func (b *batch) entriesOf(c chunk) []entry {
	return b.entries[b.streams[c.start].entries.start:b.streams[c.end-1].entries.end]
}

// validUTF8 returns s when it is valid UTF-8 (protobuf and JSON strings must be) and s with U+FFFD for each bad
// sequence otherwise. Only structured metadata values, raw attribute text, can be invalid: lines and labels never are.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
