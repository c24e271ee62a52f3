// Package delivery is the one delivery path of the network exporters: planned requests go out through the circuit
// breaker, each outcome is classified (delivered, refused for good, or to retry), refusals are counted and logged,
// the backend's health becomes component status, and exporterhelper learns exactly which records to retry.
package delivery
