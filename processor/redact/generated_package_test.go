// Written by hand in the shape of the package test mdatagen generates (mdatagen is not served by the module
// proxy here).

package redact

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
