package lokilabel

import "testing"

// BenchmarkValue measures sanitising one label value: the common case (already clean, no copy) and a value that
// needs rewriting, appended into a reused buffer (what the exporter does) or returned as a new string.
func BenchmarkValue(b *testing.B) {
	b.Run("clean", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Value("checkout-service_v2")
		}
	})
	b.Run("dirty_append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, MaxValueLen)
		for b.Loop() {
			buf = AppendValue(buf[:0], "checkout.service/v2 (eu-west-1) ünïcode")
		}
	})
	b.Run("dirty_string", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Value("checkout.service/v2 (eu-west-1) ünïcode")
		}
	})
}
