package fapilogcloudwatch

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAWSSDKStaysAtContribsResolution guards the README's promise that this module does not raise the AWS SDK
// above what a collector of core v0.165.0 with contrib v0.165.1 components resolves to: every collector built
// with the module links the SDK, so a newer requirement here (a `go get -u`, a dependency bump) would move all of
// them, and v1.48 costs each one 0.25 MB of heap at start-up. go.mod lists the version the build selects for
// every module, direct or not. To move the SDK on purpose, change this table, re-measure (make bench-e2e) and
// update the README's figures.
func TestAWSSDKStaysAtContribsResolution(t *testing.T) {
	goMod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	pinned := map[string]string{
		"github.com/aws/aws-sdk-go-v2":                        "v1.47.1",
		"github.com/aws/aws-sdk-go-v2/config":                 "v1.33.6",
		"github.com/aws/aws-sdk-go-v2/credentials":            "v1.20.6",
		"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs": "v1.89.1",
		"github.com/aws/aws-sdk-go-v2/service/sts":            "v1.51.1",
		"github.com/aws/aws-sdk-go-v2/service/sso":            "v1.38.1",
		"github.com/aws/aws-sdk-go-v2/service/ssooidc":        "v1.43.1",
		"github.com/aws/smithy-go":                            "v1.28.2",
	}
	for module, want := range pinned {
		line := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(module) + ` (v\S+)`).FindSubmatch(goMod)
		if assert.NotNil(t, line, "go.mod requires %s", module) {
			assert.Equal(t, want, string(line[1]), "go.mod selects %s %s; see this test's comment", module, line[1])
		}
	}
}
