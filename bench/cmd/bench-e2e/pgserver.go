package main

import (
	"fmt"
	"testing"

	"github.com/fapilog/fapilog-otelcol/internal/pgtest"
)

// postgresURL is the PostgreSQL server of fapilogpostgres's runs, from internal/pgtest as the tests get theirs:
// the server named by $FAPILOG_TEST_POSTGRES_URL, or else a private throwaway cluster under _build/pgtest, started
// on first use and removed when this program exits (exit goes through pgtest.StopAndExit).
func postgresURL() (url string, err error) {
	tb := &failureTB{}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(failure)
			if !ok {
				panic(r)
			}
			err = f
		}
	}()
	return pgtest.Shared(tb).URL(), nil
}

// failureTB lets this program call pgtest, which reports failure through a testing.TB: Fatalf panics with a
// failure that postgresURL turns into an error. pgtest.Shared calls nothing but Helper and Fatalf; the embedded
// TB is nil, so any other call would panic too rather than pass silently.
type failureTB struct{ testing.TB }

type failure struct{ error }

func (*failureTB) Helper() {}

func (*failureTB) Fatalf(format string, args ...any) { panic(failure{fmt.Errorf(format, args...)}) }
