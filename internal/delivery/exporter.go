package delivery

import (
	"context"

	"go.opentelemetry.io/collector/exporter"
)

// WithEarlyShutdown returns exp with d.Shutdown run before exp's own shutdown. exporterhelper shuts its queue down
// (and waits for the requests in flight) before it calls the exporter's shutdown function, so a request held
// behind an open circuit would keep the collector from stopping until the next probe; releasing it first lets the
// persistent queue keep it for the next start, and lets the in-memory queue finish at once.
func WithEarlyShutdown(exp exporter.Logs, d *Deliverer) exporter.Logs {
	return earlyShutdown{Logs: exp, deliverer: d}
}

type earlyShutdown struct {
	exporter.Logs
	deliverer *Deliverer
}

func (e earlyShutdown) Shutdown(ctx context.Context) error {
	e.deliverer.Shutdown()
	return e.Logs.Shutdown(ctx)
}
