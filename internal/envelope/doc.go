// Package envelope is the only place that knows the fapilog record shape: it turns one OTLP log record
// (with its resource and scope) into the fapilog envelope and appends it to a byte slice as JSON, text or pretty.
//
// # Derived message_id (version 2)
//
// A record without a log.record.uid or message_id attribute gets a message_id derived from its content: an
// RFC 9562 version 8 UUID whose third group starts with "82" (UUID version 8, derivation version 2), followed by
// 118 bits of an xxh3-128 hash of the record as it is in OTLP:
//
//   - Timestamp and ObservedTimestamp in nanoseconds, trace id, span id, flags, severity number and text, event
//     name, dropped attributes count;
//   - the attributes and the body with their types (the string "1" and the integer 1 differ), maps and lists
//     down to every depth;
//   - the scope's name, version, attributes and dropped attributes count, and the resource's attributes and
//     dropped attributes count. Schema URLs are not part of it.
//
// Two records therefore share an id only when every one of these is identical, so deduplicating on message_id
// (fapilogpostgres) never merges distinct records, however many arrive in the same millisecond. The id is a
// pure function of the record: a record retried by exporterhelper, replayed from the persistent queue or sent
// again by a client keeps its id, in every process and every output format.
//
// Attributes are hashed in the order the record carries them. OTLP defines them as a map, but every path that
// resends a record keeps their order, and hashing in order keeps the id to one pass over the record with no
// sorting. Two records that differ only in attribute order get two ids: both are stored, nothing is merged.
//
// The receive time is never part of the hash. A record with neither Timestamp nor ObservedTimestamp keeps its id
// when it is retried later, and untimed records that are otherwise identical are one record.
//
// Ids are stable within a derivation version only. Version 1 hashed the encoded envelope (millisecond timestamp)
// instead, so a record encoded once by version 1 and again by version 2 (a batch retried across the upgrade, or
// replayed from a persistent queue written before it) gets a different id, and a backend that deduplicates on
// message_id can store it twice.
//
// # Timestamps
//
// An OTLP timestamp at or above 2^63 ns cannot be represented (it used to be written as a date in 1677 or 1969).
// It is treated like a missing one: the envelope's timestamp falls back to ObservedTimestamp, then to the receive
// time, and the original value is kept in the envelope, exact and as a decimal string as OTLP/JSON writes 64-bit
// integers, under diagnostics.unrepresentable_time.time_unix_nano (and .observed_time_unix_nano). The pretty
// console shows the fallback time only. The derived message_id hashes the original values.
//
// # Bounded work
//
// Every encoder's time and memory grow linearly with the record's size, whatever its nesting depth or width:
// nested values are walked with explicit stacks rather than recursion, so the goroutine stack does not grow with
// depth, and scratch that one huge record grew is not kept for the next. The pretty console flattens nested maps
// into dotted keys down to 8 keys and only while the dotted key is at most 256 bytes; a map below that is written
// as compact JSON under the last flattened key (every flattened leaf repeats its key path, so an unbounded path
// would grow the line with depth times leaves). Keys and values on the console have control characters escaped,
// so a record stays one line.
package envelope
