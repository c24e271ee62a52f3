package fapilogcloudwatch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
	"github.com/fapilog/fapilog-otelcol/internal/destination"
)

// These tests route records to a log group per service (log_group_name with placeholders), through kumo behind
// the recording endpoint.

// serviceLogs makes perService records for each of services, in one resource per service: ids "<service>-<i>".
func serviceLogs(services []string, perService int) plog.Logs {
	ld := plog.NewLogs()
	at := recent(perService)
	for _, svc := range services {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		sl := rl.ScopeLogs().AppendEmpty()
		for i := range perService {
			appendRecord(sl, svc, i, at(i), "routed by service")
		}
	}
	return ld
}

func servicesNamed(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return out
}

func TestExport_PlaceholderGroupsAreCreatedWithTheirRetentionAndGetTheirOwnRecords(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	prefix := uniqueGroup(t)
	cfg := testConfig(rec.URL, prefix+"/{service.name}")
	cfg.LogRetentionDays = 7
	exp, obs := startObserved(t, cfg)

	services := append(servicesNamed("svc", 5), "team a:billing")
	require.NoError(t, exp.ConsumeLogs(context.Background(), serviceLogs(services, 40)))

	client := readClient(url)
	for _, svc := range services {
		group := prefix + "/" + strings.NewReplacer(" ", "_", ":", "_").Replace(svc)
		assert.Equal(t, []string{"app-1"}, streamNames(t, client, group), "group %s", group)
		assert.EqualValues(t, 7, retentionOf(t, client, group), "retention set on every group the exporter created")
		exactlyOnce(t, countIDs(readEvents(t, client, group, "app-1")), svc, 40)
	}
	assert.Equal(t, len(services), rec.callCount("CreateLogGroup"))
	assert.Equal(t, len(services), rec.callCount("PutRetentionPolicy"))
	accepted := 0
	for _, put := range rec.allPuts() {
		if put.status == 200 {
			accepted++
		}
	}
	assert.Equal(t, len(services), accepted, "one request per group")
	rec.requireWithinLimits(t)
	assert.EqualValues(t, len(services), obs.metrics.Int(t, destination.MetricOpen))
	assert.Zero(t, obs.metrics.Int(t, destination.MetricOverflow))
}

func TestExport_ManyRecordsOverSeveralGroupsAndDaysStayWithinTheLimitsPerRequest(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	prefix := uniqueGroup(t)
	exp := startExporter(t, testConfig(rec.URL, prefix+"/{service.name}"), exportertest.NewNopSettings(metadata.Type))

	// 3 groups x 7,000 records of ~1.5 KB over two days, services interleaved record by record.
	const perService = 7_000
	services := servicesNamed("bulk", 3)
	start := time.Now().Add(-48 * time.Hour)
	ld := plog.NewLogs()
	scopes := map[string]plog.ScopeLogs{}
	for _, svc := range services {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		scopes[svc] = rl.ScopeLogs().AppendEmpty()
	}
	for i := range perService {
		for _, svc := range services {
			appendRecord(scopes[svc], svc, i, start.Add(time.Duration(i)*48*time.Hour/perService), strings.Repeat("x", 1_500))
		}
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	rec.requireWithinLimits(t)
	groupsOfRequests := map[string]int{}
	for _, put := range rec.allPuts() {
		if put.status == 200 {
			groupsOfRequests[put.Group]++
		}
	}
	require.Len(t, groupsOfRequests, 3)
	for _, svc := range services {
		assert.GreaterOrEqual(t, groupsOfRequests[prefix+"/"+svc], 11, "7,000 x ~2 KB cannot fit in fewer than 11 requests of 1 MiB")
		exactlyOnce(t, countIDs(readEvents(t, readClient(url), prefix+"/"+svc, "app-1")), svc, perService)
	}
}

func TestExport_MaxDestinationsSendsFurtherServicesToTheDefaultGroupAndCountsThem(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	prefix := uniqueGroup(t)
	cfg := testConfig(url, prefix+"/{service.name}")
	cfg.Destinations.MaxDestinations = 3
	exp, obs := startObserved(t, cfg)

	services := servicesNamed("capped", 6)
	require.NoError(t, exp.ConsumeLogs(context.Background(), serviceLogs(services, 25)))

	client := readClient(url)
	for _, svc := range services[:3] {
		exactlyOnce(t, countIDs(readEvents(t, client, prefix+"/"+svc, "app-1")), svc, 25)
	}
	overflow := countIDs(readEvents(t, client, prefix+"/unknown", "app-1"))
	assert.Len(t, overflow, 75, "the other three services' records, each once, in the default group")
	for _, svc := range services[3:] {
		assert.Equal(t, 1, overflow[svc+"-0"])
		assert.Equal(t, 1, overflow[svc+"-24"])
	}
	resp := describeGroups(t, client, prefix)
	assert.Len(t, resp, 4, "three groups and the default, nothing else created")
	assert.EqualValues(t, 75, obs.metrics.Int(t, destination.MetricOverflow))
	assert.EqualValues(t, 4, obs.metrics.Int(t, destination.MetricOpen))
	warned := obs.logs.FilterMessageSnippet("max_destinations reached").All()
	require.Len(t, warned, 1, "one warning for a lasting overflow")
	obs.metrics.AssertDeclared(t, metadata.ScopeName, "metadata.yaml")
}

// Overflow is counted when records are handled for good, not when they arrive: a client that sends a push again
// after it failed (no queue, no retry here: a queue refusing it when full is the same case) brings the same
// records through the converter twice, and a persistent queue brings them back after a restart.
func TestExport_OverflowIsCountedOnceWhenAFailedPushIsSentAgain(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	prefix := uniqueGroup(t)
	cfg := testConfig(rec.URL, prefix+"/{service.name}")
	cfg.Destinations.MaxDestinations = 1
	cfg.RetryConfig.Enabled = false
	exp, obs := startObserved(t, cfg)

	failFirst := true
	rec.inject = func(action string, _ int, put *recordedPut) *fault {
		if action == "PutLogEvents" && put.Group == prefix+"/unknown" && failFirst {
			failFirst = false
			return awsError(503, "ServiceUnavailableException", "try later")
		}
		return nil
	}
	services := servicesNamed("again", 3)
	ld := serviceLogs(services, 10)
	require.Error(t, exp.ConsumeLogs(context.Background(), ld), "the default group's request fails once")
	assert.Zero(t, obs.metrics.Int(t, destination.MetricOverflow), "nothing of the default group delivered yet")
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld), "the client sends the push again")

	overflow := countIDs(readEvents(t, readClient(url), prefix+"/unknown", "app-1"))
	assert.Len(t, overflow, 20, "two services over the cap, each record delivered once")
	assert.EqualValues(t, 20, obs.metrics.Int(t, destination.MetricOverflow), "each overflowed record counted once")
}

// Records refused for good in the default group were handled: they count as overflow too, once.
func TestExport_OverflowRefusedForGoodIsCountedOnce(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	prefix := uniqueGroup(t)
	cfg := testConfig(rec.URL, prefix+"/{service.name}")
	cfg.Destinations.MaxDestinations = 1
	exp, obs := startObserved(t, cfg)
	rec.inject = func(action string, _ int, put *recordedPut) *fault {
		if action == "PutLogEvents" && put.Group == prefix+"/unknown" {
			return awsError(400, "InvalidParameterException", "refused")
		}
		return nil
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), serviceLogs(servicesNamed("refused", 3), 10)),
		"a refusal of some records is counted, not returned")
	assert.EqualValues(t, 20, obs.metrics.Int(t, destination.MetricOverflow))
	assert.EqualValues(t, 20, obs.rejected(t)["invalid_parameter"])
}

// A group that stays missing just after it was created (eventual consistency) concerns that group only: the
// other groups of the push are delivered and only its records are handed back for retry.
func TestPush_OneGroupNotFoundDoesNotHoldTheOtherGroupsBack(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	prefix := uniqueGroup(t)
	slow := prefix + "/svc00"
	rec.inject = func(_ string, _ int, put *recordedPut) *fault {
		if put != nil && put.Group == slow {
			return awsError(400, "ResourceNotFoundException", "The specified log group does not exist.")
		}
		return nil
	}
	e := startLogsExporter(t, testConfig(rec.URL, prefix+"/{service.name}"), exportertest.NewNopSettings(metadata.Type))

	services := servicesNamed("svc", 4)
	err := pushLogs(context.Background(), t, e, serviceLogs(services, 10))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	rest := retryOf(t, err)
	assert.Equal(t, map[string]int{slow: 10}, eventsByGroup(rest), "only the records of the group still missing")
	for _, svc := range services[1:] {
		exactlyOnce(t, countIDs(readEvents(t, readClient(url), prefix+"/"+svc, "app-1")), svc, 10)
	}

	rec.inject = nil
	require.NoError(t, e.push(context.Background(), rest), "the retry delivers them")
	exactlyOnce(t, countIDs(readEvents(t, readClient(url), slow, "app-1")), "svc00", 10)
}

// With groups from the records, IAM may grant some groups and not others, and a group may be missing while
// creation is off: those records are refused for good, the others delivered, and the exporter is not marked as
// failed for good.
func TestPush_RoutedGroupRefusedIsPartialSuccessNotAPermanentStatus(t *testing.T) {
	for name, tc := range map[string]struct {
		createGroup bool
		inject      *fault
		reason      string
	}{
		"AccessDeniedException":    {true, awsError(400, "AccessDeniedException", "not authorized to perform logs:PutLogEvents"), "access_denied"},
		"missing, creation off":    {false, nil, "log_group_missing"},
		"UnrecognizedClient (all)": {true, awsError(400, "UnrecognizedClientException", "bad token"), "unrecognized_client"},
	} {
		t.Run(name, func(t *testing.T) {
			awsTestEnv(t)
			url := startKumo(t)
			rec := newRecorder(t, url, int(defaultMaxEventSize))
			prefix := uniqueGroup(t)
			denied := prefix + "/svc01"
			client := readClient(url)
			if !tc.createGroup {
				for _, svc := range []string{"svc00", "svc02"} {
					precreate(t, url, prefix+"/"+svc, "app-1")
				}
			}
			rec.inject = func(_ string, _ int, put *recordedPut) *fault {
				if put != nil && put.Group == denied {
					return tc.inject
				}
				return nil
			}
			cfg := testConfig(rec.URL, prefix+"/{service.name}")
			cfg.CreateLogGroup = tc.createGroup
			exp, obs := startObserved(t, cfg)

			require.NoError(t, exp.ConsumeLogs(context.Background(), serviceLogs(servicesNamed("svc", 3), 5)))
			assert.Equal(t, map[string]int64{tc.reason: 5}, obs.rejected(t))
			for _, svc := range []string{"svc00", "svc02"} {
				exactlyOnce(t, countIDs(readEvents(t, client, prefix+"/"+svc, "app-1")), svc, 5)
			}
			credentials := tc.reason == "unrecognized_client"
			assert.Equal(t, credentials, obs.host.Seen(componentstatus.StatusPermanentError),
				"only refused credentials concern every group")
		})
	}
}
