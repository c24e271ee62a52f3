// Package webhook signs and verifies fapilog webhook requests (HMAC-SHA256 over "<timestamp>.<body>"). It imports
// only the standard library, so a receiver can use Verify without pulling in the collector.
package webhook
