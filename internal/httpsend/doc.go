// Package httpsend sends one HTTP request for an exporter and maps the answer onto the collector's error model
// (SPEC section 4): 2xx delivered, 408/429/5xx and network errors retried with Retry-After honoured, the rest permanent.
package httpsend
