package webhook_test

import (
	"io"
	"log"
	"net/http"

	"github.com/fapilog/fapilog-otelcol/exporter/fapiloghttp/webhook"
)

// A receiver that accepts only requests a fapiloghttp exporter signed with the shared secret in the last 5 minutes.
func ExampleVerify() {
	secret := []byte("the value of the exporter's secret")
	http.HandleFunc("/hooks/logs", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		err = webhook.Verify(secret, r.Header.Get(webhook.TimestampHeader), body,
			r.Header.Get(webhook.SignatureHeader), webhook.DefaultTolerance)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized) // 401: the exporter will not retry it
			return
		}
		// body is one envelope object (a batch of one) or a JSON array of envelopes.
		w.WriteHeader(http.StatusNoContent)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:9000", nil))
}
