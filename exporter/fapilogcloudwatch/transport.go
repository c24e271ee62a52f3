package fapilogcloudwatch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"

	"github.com/fapilog/fapilog-otelcol/internal/httpsend"
)

// cloudWatchAPI is the part of the aws-sdk-go-v2 CloudWatch Logs client the exporter uses.
type cloudWatchAPI interface {
	PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
}

// Error codes the transport acts on.
const (
	codeResourceNotFound      = "ResourceNotFoundException"
	codeResourceAlreadyExists = "ResourceAlreadyExistsException"
	codeInvalidSequenceToken  = "InvalidSequenceTokenException"
	codeDataAlreadyAccepted   = "DataAlreadyAcceptedException"
)

// retryableCodes are CloudWatch errors that say "later", on top of the SDK's own throttling and retryable
// classification (ThrottlingException, LimitExceededException, RequestTimeout, ...) and every 5xx. A group or
// stream still missing after it was created (eventual consistency) and a sequence token that keeps changing
// (concurrent legacy writers) are about timing, not about the data.
var retryableCodes = map[string]bool{
	"ServiceUnavailableException": true,
	"InternalServerException":     true,
	"OperationAbortedException":   true,
	codeResourceNotFound:          true,
	codeInvalidSequenceToken:      true,
}

// maxTokenRetries bounds the immediate re-sends with the token a legacy endpoint expects: concurrent writers to
// the same stream can invalidate it again.
const maxTokenRetries = 3

// rejectedEvents counts the events CloudWatch refused inside a request it accepted (rejectedLogEventsInfo).
type rejectedEvents struct {
	tooOld, tooNew, expired int
}

// transport sends one request to one stream and classifies the outcome: a missing group or stream is created
// (when allowed) and the request sent again; a legacy sequence-token error is answered with the token the
// endpoint expects; throttling, 5xx and network errors are retryable; other rejections are permanent.
type transport struct {
	api           cloudWatchAPI
	group         string
	createGroup   bool
	createStream  bool
	retentionDays int32
	callTimeout   time.Duration
	logger        *zap.Logger

	mu sync.Mutex
	// legacy is set once an endpoint answered with a sequence-token error: from then on every request carries
	// the stream's last token. Modern CloudWatch ignores tokens and never sets it.
	legacy bool
	tokens map[string]string
	// retentionPending is set when the exporter created the group but could not set its retention yet.
	retentionPending bool
}

func newTransport(cfg *Config, api cloudWatchAPI, logger *zap.Logger) *transport {
	return &transport{
		api:           api,
		group:         cfg.LogGroupName,
		createGroup:   cfg.CreateLogGroup,
		createStream:  cfg.CreateLogStream,
		retentionDays: cfg.LogRetentionDays,
		callTimeout:   cfg.TimeoutConfig.Timeout,
		logger:        logger,
		tokens:        map[string]string{},
	}
}

// send delivers events to stream. On success it reports the events CloudWatch refused inside an accepted request.
func (t *transport) send(ctx context.Context, stream string, events []types.InputLogEvent) (rejectedEvents, error) {
	t.retryRetention(ctx)
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: &t.group, LogStreamName: &stream, LogEvents: events}
	recreated, tokenRetries := false, 0
	for {
		in.SequenceToken = t.token(stream)
		out, err := t.put(ctx, in)
		if err == nil {
			t.remember(stream, out.NextSequenceToken)
			return rejectedOf(out.RejectedLogEventsInfo, len(events)), nil
		}
		var (
			notFound *types.ResourceNotFoundException
			badToken *types.InvalidSequenceTokenException
			accepted *types.DataAlreadyAcceptedException
		)
		switch {
		case errors.As(err, &notFound) && !recreated:
			if cerr := t.ensureStream(ctx, stream); cerr != nil {
				return rejectedEvents{}, cerr
			}
			recreated = true
		case errors.As(err, &badToken) && tokenRetries < maxTokenRetries:
			t.expect(stream, badToken.ExpectedSequenceToken)
			tokenRetries++
		case errors.As(err, &accepted):
			// A legacy endpoint already stored this very request (an earlier attempt whose answer was lost):
			// sending it again with a fresh token would store it twice.
			t.expect(stream, accepted.ExpectedSequenceToken)
			return rejectedEvents{}, nil
		default:
			return rejectedEvents{}, classify(err)
		}
	}
}

func (t *transport) put(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput) (*cloudwatchlogs.PutLogEventsOutput, error) {
	ctx, cancel := t.callContext(ctx)
	defer cancel()
	return t.api.PutLogEvents(ctx, in)
}

func (t *transport) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if t.callTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, t.callTimeout)
}

// ensureStream creates the stream, and the group first when it is missing too, as far as the configuration
// allows. A group or stream that another writer created in the meantime is fine.
func (t *transport) ensureStream(ctx context.Context, stream string) error {
	if !t.createStream {
		return fmt.Errorf("log stream %q of log group %q does not exist and create_log_stream is false: create it, or the data waits for it until retry_on_failure gives up", stream, t.group)
	}
	err := t.createLogStream(ctx, stream)
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		return err
	}
	if !t.createGroup {
		return fmt.Errorf("log group %q does not exist and create_log_group is false: create it, or the data waits for it until retry_on_failure gives up", t.group)
	}
	if err := t.createLogGroup(ctx); err != nil {
		return err
	}
	return t.createLogStream(ctx, stream)
}

func (t *transport) createLogStream(ctx context.Context, stream string) error {
	callCtx, cancel := t.callContext(ctx)
	defer cancel()
	_, err := t.api.CreateLogStream(callCtx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &t.group, LogStreamName: &stream})
	switch {
	case err == nil:
		t.forget(stream)
		t.logger.Info("Created CloudWatch log stream", zap.String("log_group", t.group), zap.String("log_stream", stream))
		return nil
	case isCode(err, codeResourceAlreadyExists):
		return nil
	case isCode(err, codeResourceNotFound):
		return err // the group is missing: the caller decides
	}
	return classify(fmt.Errorf("creating log stream %q: %w", stream, err))
}

func (t *transport) createLogGroup(ctx context.Context) error {
	callCtx, cancel := t.callContext(ctx)
	defer cancel()
	_, err := t.api.CreateLogGroup(callCtx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &t.group})
	switch {
	case err == nil:
		t.logger.Info("Created CloudWatch log group", zap.String("log_group", t.group))
		if t.retentionDays > 0 {
			t.mu.Lock()
			t.retentionPending = true
			t.mu.Unlock()
			t.retryRetention(ctx)
		}
		return nil
	case isCode(err, codeResourceAlreadyExists):
		return nil
	}
	return classify(fmt.Errorf("creating log group %q: %w", t.group, err))
}

// retryRetention sets the retention of a group the exporter created, if that is still to do. A failure does not
// hold back delivery: it is logged and tried again with the next request.
func (t *transport) retryRetention(ctx context.Context) {
	t.mu.Lock()
	pending := t.retentionPending
	t.mu.Unlock()
	if !pending {
		return
	}
	callCtx, cancel := t.callContext(ctx)
	defer cancel()
	_, err := t.api.PutRetentionPolicy(callCtx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: &t.group, RetentionInDays: &t.retentionDays})
	if err != nil {
		t.logger.Warn("Cannot set the log group's retention yet; trying again with the next request",
			zap.String("log_group", t.group), zap.Int32("log_retention_days", t.retentionDays), zap.Error(err))
		return
	}
	t.mu.Lock()
	t.retentionPending = false
	t.mu.Unlock()
	t.logger.Info("Set CloudWatch log group retention", zap.String("log_group", t.group), zap.Int32("log_retention_days", t.retentionDays))
}

// token returns the sequence token to send: nil unless the endpoint is a legacy one.
func (t *transport) token(stream string) *string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.legacy {
		return nil
	}
	if tok, ok := t.tokens[stream]; ok {
		return &tok
	}
	return nil
}

func (t *transport) remember(stream string, next *string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.legacy && next != nil {
		t.tokens[stream] = *next
	}
}

func (t *transport) expect(stream string, expected *string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.legacy {
		t.legacy = true
		t.logger.Info("The CloudWatch endpoint enforces sequence tokens (legacy behaviour): sending them from now on", zap.String("log_group", t.group))
	}
	if expected == nil {
		delete(t.tokens, stream) // a new stream expects no token
		return
	}
	t.tokens[stream] = *expected
}

// forget drops the token of a stream that was just created (a new stream expects none).
func (t *transport) forget(stream string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.tokens, stream)
}

// rejectedOf reads rejectedLogEventsInfo for a request of n events. The indexes refer to the request's events in
// order: [0, tooOldLogEventEndIndex) are too old, [0, expiredLogEventEndIndex) older than the group's retention,
// [tooNewLogEventStartIndex, n) too far in the future.
func rejectedOf(info *types.RejectedLogEventsInfo, n int) rejectedEvents {
	var r rejectedEvents
	if info == nil {
		return r
	}
	if info.TooOldLogEventEndIndex != nil {
		r.tooOld = min(n, max(0, int(*info.TooOldLogEventEndIndex)))
	}
	if info.ExpiredLogEventEndIndex != nil {
		r.expired = min(n, max(0, int(*info.ExpiredLogEventEndIndex)))
	}
	if info.TooNewLogEventStartIndex != nil {
		r.tooNew = n - min(n, max(0, int(*info.TooNewLogEventStartIndex)))
	}
	return r
}

// classify maps an SDK error to the exporter's error model: retryable (throttling, 5xx, timeouts, network and
// credential-fetching errors: the data is fine, the service or the way to it is not), throttled with a delay
// when the answer carries Retry-After, or permanent (the service answered and rejected the request itself).
func classify(err error) error {
	if err == nil {
		return nil
	}
	status := 0
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	var apiErr smithy.APIError
	hasCode := errors.As(err, &apiErr)
	retryable := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary ||
		retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary ||
		(hasCode && retryableCodes[apiErr.ErrorCode()]) ||
		(status != 0 && httpsend.Retryable(status)) ||
		(status == 0 && !hasCode)
	if !retryable {
		return consumererror.NewPermanent(err)
	}
	if respErr != nil && respErr.Response != nil {
		if d, ok := httpsend.ParseRetryAfter(respErr.Response.Header.Get("Retry-After"), time.Now()); ok && d > 0 {
			return exporterhelper.NewThrottleRetry(err, d)
		}
	}
	return err
}

// isCode reports whether err is an API error with the given code.
func isCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}

// errorCode names an error for logs and drop reasons: the API code, or the HTTP status.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "" {
		return apiErr.ErrorCode()
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		return fmt.Sprintf("HTTP %d %s", respErr.HTTPStatusCode(), http.StatusText(respErr.HTTPStatusCode()))
	}
	return "request failed"
}
