package fapilogcloudwatch

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/goleak"

	"github.com/fapilog/fapilog-otelcol/exporter/fapilogcloudwatch/internal/metadata"
)

// These tests drive the real aws-sdk-go-v2 client against kumo, an AWS emulator running in the test process,
// and read the result back through the SDK.

func TestExport_KumoStoresEveryRecordWithItsOwnTimestampAndEnvelope(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	group := uniqueGroup(t)
	cfg := testConfig(url, group)
	cfg.LogRetentionDays = 7
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))

	// Records an hour old, a second apart: the stored timestamps must be theirs, not the time of sending.
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	ld := testLogs("ts", 50, func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) })
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	client := readClient(url)
	assert.Equal(t, []string{"app-1"}, streamNames(t, client, group), "stream created")
	assert.EqualValues(t, 7, retentionOf(t, client, group), "retention set on the group the exporter created")
	events := readEvents(t, client, group, "app-1")
	require.Len(t, events, 50)
	want := envelopeJSON(ld)
	for i, ev := range events {
		assert.Equal(t, base.Add(time.Duration(i)*time.Second).UnixMilli(), aws.ToInt64(ev.Timestamp), "event %d", i)
		msg := aws.ToString(ev.Message)
		assert.Equal(t, want[messageID(msg)], msg, "event %d is the bare envelope", i)
		assert.Contains(t, msg, fmt.Sprintf(`"message":"order %d placed: héllo 世界"`, i))
	}
}

func TestExport_DefaultStreamIsHostnameDashStartSeconds(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	group := uniqueGroup(t)
	cfg := testConfig(url, group)
	cfg.LogStreamName = createDefaultConfig().(*Config).LogStreamName
	before := time.Now().Unix()
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	after := time.Now().Unix()
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("d", 3, recent(3))))

	names := streamNames(t, readClient(url), group)
	require.Len(t, names, 1)
	host, _ := os.Hostname()
	require.True(t, strings.HasPrefix(names[0], host+"-"), "stream %q starts with the host name %q", names[0], host)
	started, err := strconv.ParseInt(strings.TrimPrefix(names[0], host+"-"), 10, 64)
	require.NoError(t, err)
	assert.True(t, started >= before && started <= after, "stream %q carries the start time in unix seconds", names[0])
}

func TestExport_StreamDeletedMidRunIsRecreatedAndTheBatchDelivered(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	exp := startExporter(t, testConfig(rec.URL, group), exportertest.NewNopSettings(metadata.Type))
	client := readClient(url)

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("first", 5, recent(5))))
	_, err := client.DeleteLogStream(context.Background(), &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("app-1")})
	require.NoError(t, err)

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("second", 7, recent(7))))
	exactlyOnce(t, countIDs(readEvents(t, client, group, "app-1")), "second", 7)
	// First use: the stream cannot be created before its group (not found), then group and stream are;
	// after the deletion only the stream is created again.
	assert.Equal(t, 3, rec.callCount("CreateLogStream"))
	assert.Equal(t, 1, rec.callCount("CreateLogGroup"), "the group only once: it was never gone")
	puts := rec.allPuts()
	require.Len(t, puts, 4, "first: not found + sent; second: not found + sent")
	assert.Equal(t, 400, puts[2].status, "ResourceNotFoundException for the deleted stream")
	assert.Equal(t, 200, puts[3].status)
}

func TestExport_GroupDeletedMidRunIsRecreatedWithItsRetention(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	group := uniqueGroup(t)
	cfg := testConfig(url, group)
	cfg.LogRetentionDays = 14
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	client := readClient(url)

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("first", 2, recent(2))))
	_, err := client.DeleteLogGroup(context.Background(), &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("second", 3, recent(3))))
	exactlyOnce(t, countIDs(readEvents(t, client, group, "app-1")), "second", 3)
	assert.EqualValues(t, 14, retentionOf(t, client, group))
}

func TestExport_ExistingGroupAndStreamAreUsedAsTheyAre(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	client := readClient(url)
	_, err := client.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	_, err = client.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("app-1")})
	require.NoError(t, err)

	cfg := testConfig(rec.URL, group)
	cfg.CreateLogGroup, cfg.CreateLogStream = false, false
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("x", 4, recent(4))))
	exactlyOnce(t, countIDs(readEvents(t, client, group, "app-1")), "x", 4)
	assert.Zero(t, rec.callCount("CreateLogGroup")+rec.callCount("CreateLogStream"))
	assert.Zero(t, retentionOf(t, client, group), "an existing group's retention is left alone")
}

func TestPush_MissingGroupOrStreamWithCreationOffRefusesTheConfiguration(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	group := uniqueGroup(t)
	_, err := readClient(url).CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
	require.NoError(t, err)
	cfg := testConfig(url, group)
	cfg.CreateLogStream = false
	exp, obs := startObserved(t, cfg)

	err = exp.ConsumeLogs(context.Background(), testLogs("m", 3, recent(3)))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "no retry can create it: %v", err)
	assert.ErrorContains(t, err, "create_log_stream is false")
	assert.Equal(t, map[string]int64{"log_stream_missing": 3}, obs.rejected(t))
	assert.Equal(t, componentstatus.StatusPermanentError, obs.host.Last(), "the configuration names a stream that does not exist")

	cfg = testConfig(url, uniqueGroup(t))
	cfg.CreateLogGroup = false
	exp, obs = startObserved(t, cfg)
	err = exp.ConsumeLogs(context.Background(), testLogs("m", 3, recent(3)))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.ErrorContains(t, err, "create_log_group is false")
	assert.Equal(t, map[string]int64{"log_group_missing": 3}, obs.rejected(t))
	assert.Equal(t, componentstatus.StatusPermanentError, obs.host.Last())
}

func TestExport_PlaceholderStreamsGroupRecordsByResource(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	rec := newRecorder(t, url, int(defaultMaxEventSize))
	group := uniqueGroup(t)
	cfg := testConfig(rec.URL, group)
	cfg.LogStreamName = "{service.name}/{deployment.environment.name}"
	exp := startExporter(t, cfg, exportertest.NewNopSettings(metadata.Type))

	ld := plog.NewLogs()
	resources := []map[string]string{
		{"service.name": "api", "deployment.environment.name": "prod"},
		{"service.name": "worker:v2", "deployment.environment.name": "prod"},
		{"service.name": "api"},
		{"service.name": "api", "deployment.environment.name": "prod"}, // same stream as the first
	}
	at := recent(40)
	for r, attrs := range resources {
		rl := ld.ResourceLogs().AppendEmpty()
		for k, v := range attrs {
			rl.Resource().Attributes().PutStr(k, v)
		}
		sl := rl.ScopeLogs().AppendEmpty()
		for i := range 10 {
			appendRecord(sl, fmt.Sprintf("r%d", r), i, at(r*10+i), "hello")
		}
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	client := readClient(url)
	assert.Equal(t, []string{"api/prod", "api/unknown", "worker_v2/prod"}, streamNames(t, client, group))
	apiProd := countIDs(readEvents(t, client, group, "api/prod"))
	assert.Len(t, apiProd, 20)
	assert.Equal(t, 1, apiProd["r0-9"])
	assert.Equal(t, 1, apiProd["r3-0"])
	assert.Len(t, countIDs(readEvents(t, client, group, "worker_v2/prod")), 10)
	assert.Len(t, countIDs(readEvents(t, client, group, "api/unknown")), 10)
	accepted := 0
	for _, put := range rec.allPuts() {
		if put.status == 200 {
			accepted++
		}
	}
	assert.Equal(t, 3, accepted, "one request per stream")
	rec.requireWithinLimits(t)
}

func TestStart_WithoutRegionFailsNamingTheKey(t *testing.T) {
	awsTestEnv(t)
	t.Setenv("AWS_REGION", "")
	cfg := testConfig("http://127.0.0.1:1", "/g")
	e, err := newLogsExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	assert.ErrorContains(t, e.start(context.Background(), nil), "region: not set")

	t.Setenv("AWS_DEFAULT_REGION", "eu-central-1")
	require.NoError(t, e.start(context.Background(), nil), "AWS_DEFAULT_REGION is the fallback")
}

// The SDK keeps a connection to CloudWatch open after the last call; with the endpoint still up, only the
// exporter's shutdown closes it (before, each configuration reload left one connection and two goroutines behind).
func TestShutdown_ClosesTheIdleConnectionsToCloudWatch(t *testing.T) {
	awsTestEnv(t)
	url := startKumo(t)
	group := uniqueGroup(t)
	cfg := testConfig(url, group)
	idleBefore := goleak.IgnoreCurrent()
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs("idle", 3, recent(3))))
	require.NoError(t, exp.Shutdown(context.Background()))

	goleak.VerifyNone(t, idleBefore)
}
