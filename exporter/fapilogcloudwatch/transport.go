package fapilogcloudwatch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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

	"github.com/fapilog/fapilog-otelcol/internal/delivery"
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
	codeOperationAborted      = "OperationAbortedException"
	codeAccessDenied          = "AccessDeniedException"
)

// retryableCodes are CloudWatch errors that say "later", on top of the SDK's own throttling and retryable
// classification (ThrottlingException, LimitExceededException, RequestTimeout, ...) and every 5xx. A group or
// stream still missing after it was created (eventual consistency) and a sequence token that keeps changing
// (concurrent legacy writers) are about timing, not about the data.
var retryableCodes = map[string]bool{
	"ServiceUnavailableException": true,
	"InternalServerException":     true,
	codeOperationAborted:          true,
	codeResourceNotFound:          true,
	codeInvalidSequenceToken:      true,
}

// maxTokenRetries bounds the immediate re-sends with the token a legacy endpoint expects: concurrent writers to
// the same stream can invalidate it again.
const maxTokenRetries = 3

// rejectedEvents counts the events CloudWatch refused inside a request it accepted (rejectedLogEventsInfo).
// expired includes the too old ones (both ranges start at the first event).
type rejectedEvents struct {
	tooOld, tooNew, expired int
}

// rejections turns r into what the delivery path counts and logs: each event once, under one reason.
func (r rejectedEvents) rejections(group, stream string) []delivery.Rejection {
	if r == (rejectedEvents{}) {
		return nil
	}
	detail := []zap.Field{zap.String("log_group", group), zap.String("log_stream", stream)}
	return []delivery.Rejection{
		{Reason: reasonTooOld, Records: r.tooOld, Detail: detail},
		{Reason: reasonExpired, Records: max(0, r.expired-r.tooOld), Detail: detail},
		{Reason: reasonTooNew, Records: r.tooNew, Detail: detail},
	}
}

// transport sends one request to one stream of one group and classifies the outcome: a missing group or stream is
// created (when allowed) and the request sent again; a legacy sequence-token error is answered with the token the
// endpoint expects; throttling, 5xx and network errors are retryable; other rejections are permanent.
type transport struct {
	api           cloudWatchAPI
	createGroup   bool
	createStream  bool
	retentionDays int32
	callTimeout   time.Duration
	logger        *zap.Logger

	mu sync.Mutex
	// legacy is set once an endpoint answered with a sequence-token error: from then on every request carries
	// the stream's last token (by group and stream). Modern CloudWatch ignores tokens and never sets it.
	legacy bool
	tokens map[streamKey]string
	// retentionPending holds the groups the exporter created but could not set the retention of yet.
	retentionPending map[string]bool
}

// streamKey names one stream of one group.
type streamKey struct{ group, stream string }

func newTransport(cfg *Config, api cloudWatchAPI, logger *zap.Logger) *transport {
	return &transport{
		api:           api,
		createGroup:   cfg.CreateLogGroup,
		createStream:  cfg.CreateLogStream,
		retentionDays: cfg.LogRetentionDays,
		callTimeout:   cfg.TimeoutConfig.Timeout,
		logger:        logger,
		tokens:        map[streamKey]string{},

		retentionPending: map[string]bool{},
	}
}

// send delivers events to a stream of a group. On success it reports the events CloudWatch refused inside an
// accepted request.
func (t *transport) send(ctx context.Context, group, stream string, events []types.InputLogEvent) (rejectedEvents, error) {
	t.retryRetention(ctx, group)
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: events}
	key := streamKey{group, stream}
	recreated, tokenRetries := false, 0
	for {
		in.SequenceToken = t.token(key)
		out, err := t.put(ctx, in)
		if err == nil {
			t.remember(key, out.NextSequenceToken)
			return rejectedOf(out.RejectedLogEventsInfo, len(events)), nil
		}
		var (
			notFound *types.ResourceNotFoundException
			badToken *types.InvalidSequenceTokenException
			accepted *types.DataAlreadyAcceptedException
		)
		switch {
		case errors.As(err, &notFound) && !recreated:
			if cerr := t.ensureStream(ctx, key, err); cerr != nil {
				return rejectedEvents{}, cerr
			}
			recreated = true
		case errors.As(err, &badToken) && tokenRetries < maxTokenRetries:
			t.expect(key, badToken.ExpectedSequenceToken)
			tokenRetries++
		case errors.As(err, &accepted):
			// A legacy endpoint already stored this very request (an earlier attempt whose answer was lost):
			// sending it again with a fresh token would store it twice.
			t.expect(key, accepted.ExpectedSequenceToken)
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
// allows. A group or stream that another writer created in the meantime is fine. A missing one the exporter may
// not create is refused for good (see refusesConfig).
func (t *transport) ensureStream(ctx context.Context, key streamKey, notFound error) error {
	if !t.createStream {
		return consumererror.NewPermanent(&missingError{key: "create_log_stream", reason: reasonStreamMissing, group: key.group, stream: key.stream, cause: notFound})
	}
	err := t.createLogStream(ctx, key)
	if !isCode(err, codeResourceNotFound) {
		return err
	}
	if !t.createGroup {
		return consumererror.NewPermanent(&missingError{key: "create_log_group", reason: reasonGroupMissing, group: key.group, stream: key.stream, cause: err})
	}
	if err := t.createLogGroup(ctx, key.group); err != nil {
		return err
	}
	return t.createLogStream(ctx, key)
}

func (t *transport) createLogStream(ctx context.Context, key streamKey) error {
	callCtx, cancel := t.callContext(ctx)
	defer cancel()
	_, err := t.api.CreateLogStream(callCtx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &key.group, LogStreamName: &key.stream})
	switch {
	case err == nil:
		t.forget(key)
		t.logger.Info("Created CloudWatch log stream", zap.String("log_group", key.group), zap.String("log_stream", key.stream))
		return nil
	case isCode(err, codeResourceAlreadyExists):
		return nil
	case isCode(err, codeResourceNotFound):
		return err // the group is missing: the caller decides
	}
	return classify(fmt.Errorf("creating log stream %q in log group %q: %w", key.stream, key.group, err))
}

func (t *transport) createLogGroup(ctx context.Context, group string) error {
	callCtx, cancel := t.callContext(ctx)
	defer cancel()
	_, err := t.api.CreateLogGroup(callCtx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &group})
	switch {
	case err == nil:
		t.logger.Info("Created CloudWatch log group", zap.String("log_group", group))
		if t.retentionDays > 0 {
			t.mu.Lock()
			t.retentionPending[group] = true
			t.mu.Unlock()
			t.retryRetention(ctx, group)
		}
		return nil
	case isCode(err, codeResourceAlreadyExists):
		return nil
	}
	return classify(fmt.Errorf("creating log group %q: %w", group, err))
}

// retryRetention sets the retention of a group the exporter created, if that is still to do. A failure does not
// hold back delivery: it is logged and tried again with the group's next request.
func (t *transport) retryRetention(ctx context.Context, group string) {
	t.mu.Lock()
	pending := t.retentionPending[group]
	t.mu.Unlock()
	if !pending {
		return
	}
	callCtx, cancel := t.callContext(ctx)
	defer cancel()
	_, err := t.api.PutRetentionPolicy(callCtx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: &group, RetentionInDays: &t.retentionDays})
	if err != nil {
		t.logger.Warn("Cannot set the log group's retention yet; trying again with the next request",
			zap.String("log_group", group), zap.Int32("log_retention_days", t.retentionDays), zap.Error(err))
		return
	}
	t.mu.Lock()
	delete(t.retentionPending, group)
	t.mu.Unlock()
	t.logger.Info("Set CloudWatch log group retention", zap.String("log_group", group), zap.Int32("log_retention_days", t.retentionDays))
}

// token returns the sequence token to send: nil unless the endpoint is a legacy one.
func (t *transport) token(key streamKey) *string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.legacy {
		return nil
	}
	if tok, ok := t.tokens[key]; ok {
		return &tok
	}
	return nil
}

func (t *transport) remember(key streamKey, next *string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.legacy && next != nil {
		t.tokens[key] = *next
	}
}

func (t *transport) expect(key streamKey, expected *string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.legacy {
		t.legacy = true
		t.logger.Info("The CloudWatch endpoint enforces sequence tokens (legacy behaviour): sending them from now on", zap.String("log_group", key.group))
	}
	if expected == nil {
		delete(t.tokens, key) // a new stream expects no token
		return
	}
	t.tokens[key] = *expected
}

// forget drops the token of a stream that was just created (a new stream expects none).
func (t *transport) forget(key streamKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.tokens, key)
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

// isolated tells the delivery path which retryable failures concern their own group or stream only, CloudWatch
// itself answering: a group or stream still missing just after it was created (eventual consistency), a
// concurrent change to it (OperationAborted), a legacy sequence token other writers keep changing. The requests
// of the other groups and streams of the push still go; only the failed ones are retried. Throttling is not
// among them: PutLogEvents quotas are per account and region.
func isolated(err error) bool {
	switch errorCode(err) {
	case codeResourceNotFound, codeOperationAborted, codeInvalidSequenceToken:
		return true
	}
	return false
}

// Reasons of a request refused because its destination is missing and the exporter may not create it.
const (
	reasonGroupMissing  = "log_group_missing"
	reasonStreamMissing = "log_stream_missing"
)

// missingError is a log group or stream that does not exist while the configuration (key) forbids creating it.
type missingError struct {
	key, reason   string
	group, stream string
	cause         error
}

func (e *missingError) Error() string {
	what := fmt.Sprintf("log stream %q of log group %q", e.stream, e.group)
	if e.reason == reasonGroupMissing {
		what = fmt.Sprintf("log group %q", e.group)
	}
	return fmt.Sprintf("%s does not exist and %s is false: create it or set %s: true: %v", what, e.key, e.key, e.cause)
}

func (e *missingError) Unwrap() error { return e.cause }

// configCodes are the API errors that refuse the exporter's credentials or permissions: no request can succeed
// until someone changes the configuration or the IAM policy.
var configCodes = map[string]bool{
	codeAccessDenied:              true,
	"UnrecognizedClientException": true,
	"InvalidClientTokenId":        true,
	"InvalidSignatureException":   true,
	"IncompleteSignature":         true,
	"MissingAuthenticationToken":  true,
}

// refusesConfig tells the delivery path which permanent errors refuse the configuration rather than the data:
// a missing group or stream the exporter may not create, refused credentials or permissions (by code, or 401 /
// 403 when the answer carries none).
func refusesConfig(err error) bool {
	if _, ok := errors.AsType[*missingError](err); ok {
		return true
	}
	if code := errorCode(err); code != "" {
		return configCodes[code]
	}
	status := httpStatus(err)
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// describe names a refused request for the rejected-records metric and gives what to log. The reason is the
// API error code in snake case without "Exception" (invalid_parameter, access_denied): the codes come from the
// service's model, a small fixed set. Without a code it is http_<status>.
func describe(err error) (string, []zap.Field) {
	if m, ok := errors.AsType[*missingError](err); ok {
		return m.reason, []zap.Field{zap.String("log_group", m.group), zap.String("log_stream", m.stream), zap.Error(err)}
	}
	status := httpStatus(err)
	if code := errorCode(err); code != "" {
		if reason := codeReason(code); reason != "" {
			return reason, []zap.Field{zap.String("error_code", code), zap.Int("status", status), zap.Error(err)}
		}
	}
	if status != 0 {
		return fmt.Sprintf("http_%d", status), []zap.Field{zap.Int("status", status), zap.Error(err)}
	}
	return "rejected", []zap.Field{zap.Error(err)}
}

// maxCodeLen bounds an error code used as a reason: AWS codes are short CamelCase words.
const maxCodeLen = 64

// codeReason turns "InvalidParameterException" into "invalid_parameter"; "" for anything that does not look
// like an AWS error code.
func codeReason(code string) string {
	code = strings.TrimSuffix(code, "Exception")
	if code == "" || len(code) > maxCodeLen {
		return ""
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return ""
		}
	}
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		c := code[i]
		if isUpper(c) {
			// A word starts at an upper-case letter after a lower-case one or a digit, or at the last capital of
			// an acronym followed by a lower-case letter: "KMSInvalidState" -> kms_invalid_state.
			prevLowerOrDigit := i > 0 && !isUpper(code[i-1])
			acronymEnd := i > 0 && isUpper(code[i-1]) && i+1 < len(code) && !isUpper(code[i+1])
			if prevLowerOrDigit || acronymEnd {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// errorCode is the API error code of err; "" when the answer carried none (the SDK then says "UnknownError").
func errorCode(err error) string {
	apiErr, ok := errors.AsType[smithy.APIError](err)
	if !ok || apiErr.ErrorCode() == "UnknownError" {
		return ""
	}
	return apiErr.ErrorCode()
}

func httpStatus(err error) int {
	if respErr, ok := errors.AsType[*smithyhttp.ResponseError](err); ok {
		return respErr.HTTPStatusCode()
	}
	return 0
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
