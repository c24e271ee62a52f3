package envelope

import (
	"github.com/cespare/xxhash/v2"
)

// uuidLen is the length of a textual UUID; a derived message_id always has it, which lets the JSON encoder
// reserve its place and fill it in once the rest of the envelope (the hash input) has been written.
const uuidLen = 36

// Seeds of the two 64-bit hashes that make up a derived message_id.
const (
	idSeedHigh = 0x6661_7069_6c6f_6721 // "fapilog!"
	idSeedLow  = 0x6d65_7373_6167_6531 // "message1"
)

type messageIDState struct {
	id    [uuidLen]byte
	ready bool
}

// byteRange is a half-open range of an encoded envelope left out of the message_id hash.
type byteRange struct{ start, end int }

// deriveMessageID hashes the encoded envelope without the skipped ranges (the message_id placeholder, and the
// timestamp when it is only the receive time) into an RFC 9562 version 8 UUID. The same record therefore always
// gets the same id, across retries, restarts and output formats.
func deriveMessageID(envelope []byte, skip ...byteRange) (id [uuidLen]byte) {
	var high, low xxhash.Digest
	high.ResetWithSeed(idSeedHigh)
	low.ResetWithSeed(idSeedLow)
	from := 0
	for _, r := range skip {
		_, _ = high.Write(envelope[from:r.start])
		_, _ = low.Write(envelope[from:r.start])
		from = r.end
	}
	_, _ = high.Write(envelope[from:])
	_, _ = low.Write(envelope[from:])

	var raw [16]byte
	h, l := high.Sum64(), low.Sum64()
	for i := 0; i < 8; i++ {
		raw[i] = byte(h >> (56 - 8*i))
		raw[8+i] = byte(l >> (56 - 8*i))
	}
	raw[6] = raw[6]&0x0f | 0x80 // version 8: custom
	raw[8] = raw[8]&0x3f | 0x80 // RFC 9562 variant
	j := 0
	for i, b := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			id[j] = '-'
			j++
		}
		id[j], id[j+1] = hexDigits[b>>4], hexDigits[b&0xf]
		j += 2
	}
	return id
}
