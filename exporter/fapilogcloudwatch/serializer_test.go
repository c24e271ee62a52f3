package fapilogcloudwatch

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// capturedPut is a PutLogEvents request as an endpoint receives it.
type capturedPut struct {
	method, path, target, contentType string
	body                              []byte
}

// capturePut sends in with a client that uses putLogEventsProtocol (ours) or the SDK's protocol, and returns what
// the endpoint got.
func capturePut(t *testing.T, in *cloudwatchlogs.PutLogEventsInput, ours bool) capturedPut {
	t.Helper()
	var (
		mu  sync.Mutex
		got capturedPut
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		mu.Lock()
		got = capturedPut{r.Method, r.URL.Path, r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"), body}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, `{"nextSequenceToken":"t"}`)
	}))
	defer srv.Close()
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      aws.NopRetryer{},
	}, func(o *cloudwatchlogs.Options) {
		if ours {
			o.Protocol = putLogEventsProtocol{o.Protocol}
		}
	})
	_, err := client.PutLogEvents(context.Background(), in)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	return got
}

func TestPutLogEventsProtocol_SendsWhatTheSDKSends(t *testing.T) {
	messages := []string{
		`{"log":{"message":"quotes \" and \\ backslashes","level":"INFO"}}`,
		"control \x00\x01\x1f\t\n\r and DEL \x7f",
		"unicode é 世界 🚀, line separators \u2028\u2029, <html> & 'apostrophes'",
		"",
		strings.Repeat(`{"k":"v"},`, 2000),
	}
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/g/é"), LogStreamName: aws.String(`s"1`)}
	for i, m := range messages {
		in.LogEvents = append(in.LogEvents, types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(1767323045000 + int64(i))})
	}
	for name, token := range map[string]*string{"without a token": nil, "with a legacy token": aws.String("4959\"0")} {
		t.Run(name, func(t *testing.T) {
			in.SequenceToken = token
			sdk, ours := capturePut(t, in, false), capturePut(t, in, true)
			assert.Equal(t, sdk.method, ours.method)
			assert.Equal(t, sdk.path, ours.path)
			assert.Equal(t, "Logs_20140328.PutLogEvents", ours.target)
			assert.Equal(t, sdk.target, ours.target)
			assert.Equal(t, sdk.contentType, ours.contentType)
			var want, got map[string]any
			require.NoError(t, json.Unmarshal(sdk.body, &want))
			require.NoError(t, json.Unmarshal(ours.body, &got), "%s", ours.body)
			assert.Equal(t, want, got, "the same document")
			for _, ev := range got["logEvents"].([]any) {
				assert.Contains(t, messages, ev.(map[string]any)["message"], "every message arrives as it was")
			}
		})
	}
}

func TestPutLogEventsProtocol_LeavesOtherOperationsToTheSDK(t *testing.T) {
	var target string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target = r.Header.Get("X-Amz-Target")
		body, _ := io.ReadAll(r.Body)
		assert.JSONEq(t, `{"logGroupName":"/g","logStreamName":"s"}`, string(body))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *cloudwatchlogs.Options) { o.Protocol = putLogEventsProtocol{o.Protocol} })
	_, err := client.CreateLogStream(context.Background(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/g"), LogStreamName: aws.String("s")})
	require.NoError(t, err)
	assert.Equal(t, "Logs_20140328.CreateLogStream", target)
}
