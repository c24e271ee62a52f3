package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// AckedLoad is a bounded OTLP/gRPC client that behaves as an SDK does: it sends numbered records (NumberedLogs,
// unique log.record.uid "<prefix>-<batch>-<i>") at a fixed rate, retries a request the collector refuses
// (UNAVAILABLE while its queue is full, or while it restarts) until it is acknowledged or the load's deadline
// passes, and remembers exactly which records were acknowledged.
type AckedLoad struct {
	mu    sync.Mutex
	acked map[string]bool
	tries int // export attempts, retries included
	done  chan struct{}
}

// LoadSpec bounds a load: Batches requests of BatchSize records, one every Interval, each retried until Deadline.
type LoadSpec struct {
	Prefix    string
	Batches   int
	BatchSize int
	Interval  time.Duration
	Deadline  time.Duration
}

// StartAckedLoad sends spec's load to the collector's OTLP/gRPC endpoint in the background.
func StartAckedLoad(t testing.TB, grpcEndpoint string, spec LoadSpec) *AckedLoad {
	t.Helper()
	conn, err := grpc.NewClient(grpcEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	l := &AckedLoad{acked: map[string]bool{}, done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), spec.Deadline)
	t.Cleanup(func() {
		cancel()
		<-l.done
		_ = conn.Close()
	})
	client := plogotlp.NewGRPCClient(conn)
	go func() {
		defer close(l.done)
		tick := time.NewTicker(spec.Interval)
		defer tick.Stop()
		for b := range spec.Batches {
			prefix := fmt.Sprintf("%s-%d", spec.Prefix, b)
			req := plogotlp.NewExportRequestFromLogs(NumberedLogs(prefix, spec.BatchSize))
			for ctx.Err() == nil {
				l.mu.Lock()
				l.tries++
				l.mu.Unlock()
				callCtx, callCancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := client.Export(callCtx, req)
				callCancel()
				if err == nil {
					l.ack(prefix, spec.BatchSize)
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return l
}

func (l *AckedLoad) ack(prefix string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range n {
		l.acked[fmt.Sprintf("%s-%d", prefix, i)] = true
	}
}

// Wait blocks until every batch was acknowledged or the deadline passed.
func (l *AckedLoad) Wait() { <-l.done }

// Acked returns the uids of the records the collector acknowledged.
func (l *AckedLoad) Acked() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]bool, len(l.acked))
	for k := range l.acked {
		out[k] = true
	}
	return out
}

// Tries is the number of export attempts made, retries included.
func (l *AckedLoad) Tries() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tries
}
