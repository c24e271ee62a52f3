package fapilogcloudwatch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
)

// requestEncoding stores requests in a persistent queue (sending_queue.storage) as the events they hold, already
// encoded: after a restart the exporter sends exactly the messages it would have sent, without the plog.Logs
// they came from. The client metadata of the request's context is kept too, so that
// sending_queue.batch.partition.metadata_keys still partitions after a restart, as exporterhelper's own
// encoding does.
//
// Format (version 2): the bytes "fcw" and the version, then uvarints (u) and length-prefixed strings (s):
// metadata (u keys, each s key, u values, s each), u chunks, each: u destinations (s group, s stream),
// s the group refused by max_destinations (chunk.refused), u events, each: varint timestamp, u dest * 2 + 1 when
// the event overflowed to the default group (event.overflow), u message length + 1 (0: dropped as oversize),
// then the messages one after the other. Version 1, written before the exporter counted overflow on delivery,
// has neither the refused group nor the overflow bit: its requests are still read, their overflow counted
// already when they were converted.
type requestEncoding struct{}

// encodingHeader starts every stored request; its last byte is the version of the format.
const (
	encodingHeader   = "fcw\x02"
	encodingHeaderV1 = "fcw\x01"
)

var errCorrupt = errors.New("not a fapilogcloudwatch request of format version 1 or 2: truncated or corrupt")

// Marshal encodes req and the client metadata of ctx.
func (requestEncoding) Marshal(ctx context.Context, r xexporterhelper.Request) ([]byte, error) {
	req, ok := r.(*logsRequest)
	if !ok {
		return nil, fmt.Errorf("cannot store a %T as a CloudWatch request", r)
	}
	buf := make([]byte, 0, len(encodingHeader)+req.bytes+16*len(req.chunks))
	buf = append(buf, encodingHeader...)
	buf = appendMetadata(buf, client.FromContext(ctx).Metadata)
	buf = binary.AppendUvarint(buf, uint64(len(req.chunks)))
	for _, c := range req.chunks {
		buf = binary.AppendUvarint(buf, uint64(len(c.dests)))
		for _, d := range c.dests {
			buf = appendString(appendString(buf, d.group), d.stream)
		}
		buf = appendString(buf, c.refused)
		buf = binary.AppendUvarint(buf, uint64(len(c.events)))
		for _, ev := range c.events {
			buf = binary.AppendVarint(buf, ev.timestamp)
			destAndOverflow := uint64(ev.dest) << 1
			if ev.overflow {
				destAndOverflow |= 1
			}
			buf = binary.AppendUvarint(buf, destAndOverflow)
			length := uint64(0)
			if !ev.dropped {
				length = uint64(ev.end-ev.start) + 1
			}
			buf = binary.AppendUvarint(buf, length)
		}
		for _, ev := range c.events {
			buf = append(buf, c.body[ev.start:ev.end]...)
		}
	}
	return buf, nil
}

func appendMetadata(buf []byte, md client.Metadata) []byte {
	var keys []string
	for k := range md.Keys() {
		keys = append(keys, k)
	}
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		buf = appendString(buf, k)
		values := md.Get(k)
		buf = binary.AppendUvarint(buf, uint64(len(values)))
		for _, v := range values {
			buf = appendString(buf, v)
		}
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

// Unmarshal decodes what Marshal stored: each chunk's messages become one body again.
func (requestEncoding) Unmarshal(data []byte) (context.Context, xexporterhelper.Request, error) {
	ctx := context.Background()
	if len(data) < len(encodingHeader) {
		return ctx, nil, errCorrupt
	}
	var v1 bool
	switch string(data[:len(encodingHeader)]) {
	case encodingHeader:
	case encodingHeaderV1:
		v1 = true
	default:
		return ctx, nil, errCorrupt
	}
	d := decoder{data: data[len(encodingHeader):]}
	if md := d.metadata(); len(md) > 0 {
		ctx = client.NewContext(ctx, client.Info{Metadata: client.NewMetadata(md)})
	}
	req := new(logsRequest)
	for range d.count() {
		c := chunk{dests: make([]dest, d.count())}
		for i := range c.dests {
			c.dests[i] = dest{group: d.string(), stream: d.string()}
		}
		if !v1 {
			c.refused = d.string()
		}
		c.events = make([]event, d.count())
		total := 0
		for i := range c.events {
			ev := &c.events[i]
			ev.timestamp = d.varint()
			// Both numbers are checked before they are converted: a huge dest would wrap to a negative index, and
			// huge lengths could add up to a small total.
			dest := d.uvarint()
			if !v1 {
				dest, ev.overflow = dest>>1, dest&1 == 1
			}
			if dest < uint64(len(c.dests)) {
				ev.dest = int32(dest)
			} else {
				d.err = errCorrupt
			}
			length := d.uvarint()
			ev.dropped = length == 0
			ev.start = total
			if left := len(d.data) - total; !ev.dropped && (left < 0 || length-1 > uint64(left)) {
				d.err = errCorrupt // the messages are longer than the bytes that follow
			} else if !ev.dropped {
				total += int(length - 1)
			}
			ev.end = total
			c.bytes += ev.size()
		}
		c.body = d.bytes(total)
		if d.err != nil {
			return ctx, nil, d.err
		}
		req.add(c)
	}
	if d.err == nil && len(d.data) > 0 {
		d.err = errCorrupt
	}
	if d.err != nil {
		return ctx, nil, d.err
	}
	return ctx, req, nil
}

// decoder reads the format of requestEncoding; after the first error every read returns zero values.
type decoder struct {
	data []byte
	err  error
}

func (d *decoder) uvarint() uint64 { return next(d, binary.Uvarint) }

func (d *decoder) varint() int64 { return next(d, binary.Varint) }

// next reads one number with read (binary.Uvarint or binary.Varint).
func next[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.data)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.data = d.data[n:]
	return v
}

// count reads a number of things that follow, each at least one byte long: never more than the bytes left, so
// corrupt data cannot make the decoder allocate more than it holds.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.data)) {
		d.err = errCorrupt
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(n int) string {
	if d.err != nil || n < 0 || n > len(d.data) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.data[:n])
	d.data = d.data[n:]
	return s
}

func (d *decoder) string() string { return d.bytes(d.count()) }

func (d *decoder) metadata() map[string][]string {
	keys := d.count()
	if keys == 0 {
		return nil
	}
	md := make(map[string][]string, keys)
	for range keys {
		k := d.string()
		values := make([]string, d.count())
		for i := range values {
			values[i] = d.string()
		}
		md[k] = values
	}
	return md
}
