// Package lokilabel holds Loki's label rules in one place: which label names are valid (Prometheus names) and how
// a value becomes a label value (fapilog's sanitising: [a-zA-Z0-9_-] kept, anything else "_", at most 128 characters).
package lokilabel
