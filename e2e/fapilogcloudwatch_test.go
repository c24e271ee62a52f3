package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/sivchari/kumo"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The distribution exports to kumo, an AWS emulator started inside this test process (AWS itself is not
// reachable from the test machines); the test reads the log group back through aws-sdk-go-v2.
const cloudwatchConfig = `
receivers:
  {{.Receiver}}
exporters:
  fapilogcloudwatch:
    endpoint_url: {{.KumoURL}}
    log_group_name: {{.Group}}
    log_stream_name: "{service.name}-stream"
    log_retention_days: 7
    sending_queue:
      batch:
        flush_timeout: 200ms
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [fapilogcloudwatch]
`

// cloudwatchEnv gives the collector (a child process: it inherits the environment) static credentials and
// us-east-1 through the SDK's standard chain, and keeps it away from the machine's own AWS settings.
func cloudwatchEnv(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_ACCESS_KEY_ID", "e2e")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "e2e")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// cloudwatchEvents reads every event of a stream (kumo returns at most 10,000 per call without paging, so the
// time range is halved until each window fits); a missing stream reads as empty.
func cloudwatchEvents(t *testing.T, client *cloudwatchlogs.Client, group, stream string) []types.OutputLogEvent {
	t.Helper()
	var out []types.OutputLogEvent
	var window func(from, to int64) bool
	window = func(from, to int64) bool {
		resp, err := client.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			StartTime: aws.Int64(from), EndTime: aws.Int64(to), StartFromHead: aws.Bool(true), Limit: aws.Int32(10_000),
		})
		if err != nil {
			var notFound *types.ResourceNotFoundException
			if errors.As(err, &notFound) {
				return false
			}
			t.Fatalf("GetLogEvents: %v", err)
		}
		if len(resp.Events) == 10_000 && from < to {
			mid := from + (to-from)/2
			return window(from, mid) && window(mid+1, to)
		}
		out = append(out, resp.Events...)
		return true
	}
	window(0, time.Now().Add(48*time.Hour).UnixMilli())
	return out
}

// uidsOf counts the records' log.record.uid, which the envelope carries as context.message_id.
func uidsOf(t *testing.T, events []types.OutputLogEvent) (map[string]int, map[string]int64) {
	t.Helper()
	ids, times := map[string]int{}, map[string]int64{}
	for _, ev := range events {
		var env struct {
			Context struct {
				MessageID string `json:"message_id"`
			} `json:"context"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(ev.Message)), &env); err != nil {
			t.Fatalf("event is not an envelope: %v: %q", err, aws.ToString(ev.Message))
		}
		ids[env.Context.MessageID]++
		times[env.Context.MessageID] = aws.ToInt64(ev.Timestamp)
	}
	return ids, times
}

func recordTimes(ld plog.Logs) map[string]int64 {
	out := map[string]int64{}
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				uid, _ := lr.Attributes().Get("log.record.uid")
				out[uid.Str()] = lr.Timestamp().AsTime().UnixMilli()
			}
		}
	}
	return out
}

func TestCloudWatch_EveryRecordArrivesOnceWithItsTimestampAndTheStreamIsRecreatedAfterDeletion(t *testing.T) {
	cloudwatchEnv(t)
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	group := fmt.Sprintf("/fapilog/e2e/%d", time.Now().UnixNano())
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("e2e", "e2e", ""),
	})
	col := Start(t, cloudwatchConfig, map[string]any{"KumoURL": srv.URL, "Group": group})
	const stream = "e2e-stream" // {service.name}-stream; NumberedLogs sets service.name e2e

	first, second := NumberedLogs("cw-grpc", 1500), NumberedLogs("cw-http", 700)
	col.SendGRPC(t, first)
	col.SendHTTP(t, second, true)
	want := recordTimes(first)
	for k, v := range recordTimes(second) {
		want[k] = v
	}
	Eventually(t, 30*time.Second, func() bool { return len(cloudwatchEvents(t, client, group, stream)) >= len(want) },
		"CloudWatch (kumo) did not receive %d events:\n%s", len(want), col.Stderr.String())

	ids, times := uidsOf(t, cloudwatchEvents(t, client, group, stream))
	if len(ids) != len(want) {
		t.Fatalf("%d distinct records in CloudWatch, want %d", len(ids), len(want))
	}
	for id, at := range want {
		if ids[id] != 1 {
			t.Fatalf("record %s arrived %d times", id, ids[id])
		}
		if times[id] != at {
			t.Fatalf("record %s has timestamp %d, want its own %d", id, times[id], at)
		}
	}
	groups, err := client.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if err != nil || len(groups.LogGroups) != 1 || aws.ToInt32(groups.LogGroups[0].RetentionInDays) != 7 {
		t.Fatalf("log group %s with 7 days retention expected: %+v, %v", group, groups, err)
	}

	// The stream is deleted under the running collector: the next batch re-creates it and is delivered.
	if _, err := client.DeleteLogStream(context.Background(), &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
	third := NumberedLogs("cw-after-delete", 300)
	col.SendGRPC(t, third)
	Eventually(t, 30*time.Second, func() bool { return len(cloudwatchEvents(t, client, group, stream)) >= 300 },
		"the deleted stream was not re-created with the next batch:\n%s", col.Stderr.String())
	col.Stop(t)

	ids, _ = uidsOf(t, cloudwatchEvents(t, client, group, stream))
	if len(ids) != 300 {
		t.Fatalf("%d records in the re-created stream, want the 300 sent after the deletion", len(ids))
	}
	for i := range 300 {
		if id := fmt.Sprintf("cw-after-delete-%d", i); ids[id] != 1 {
			t.Fatalf("record %s arrived %d times", id, ids[id])
		}
	}
}
