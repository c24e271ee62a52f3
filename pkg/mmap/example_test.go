//go:build unix

package mmap_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fapilog/fapilog-otelcol/pkg/mmap"
)

// A minimal file sink: one line per record, and a Sync per batch so that a
// batch is acknowledged only once it is durable.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "mmap-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.log")

	f, err := mmap.Open(path, mmap.Options{PeriodicFlushBytes: 64 << 10})
	if err != nil {
		log.Fatal(err)
	}
	batches := [][]string{
		{`{"level":"info","msg":"started"}`, `{"level":"info","msg":"ready"}`},
		{`{"level":"warn","msg":"stopping"}`},
	}
	for _, batch := range batches {
		for _, record := range batch {
			if _, err := f.AppendLine([]byte(record)); err != nil {
				log.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			log.Fatal(err)
		}
	}
	st := f.Stats()
	fmt.Printf("%d bytes in %d appends, %d syncs\n", st.Size, st.Appends, st.Syncs)
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}

	content, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(content))
	// Output:
	// 98 bytes in 3 appends, 2 syncs
	// {"level":"info","msg":"started"}
	// {"level":"info","msg":"ready"}
	// {"level":"warn","msg":"stopping"}
}
