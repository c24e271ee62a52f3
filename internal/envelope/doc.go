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
package envelope
