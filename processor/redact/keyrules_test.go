package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRegexMask_MatchesTheFullDottedPath(t *testing.T) {
	attrs := map[string]any{
		"client_secret": "a",
		"config":        map[string]any{"secret_value": "b", "name": "c"},
		"items":         []any{map[string]any{"token": "d"}, map[string]any{"token": "e"}},
		"secretive":     map[string]any{"inner": "f"},
		"db.password":   "g",
		"mysecret":      "h",
	}
	tests := []struct {
		name     string
		patterns []string
		want     map[string]any
	}{
		{
			name:     "fapilog-style pattern at any depth",
			patterns: []string{`(?i).*secret.*`},
			want: map[string]any{
				"client_secret": "***",
				"config":        map[string]any{"secret_value": "***", "name": "c"},
				"items":         []any{map[string]any{"token": "d"}, map[string]any{"token": "e"}},
				"secretive":     "***", // a matching path masks its whole subtree
				"db.password":   "g",
				"mysecret":      "***",
			},
		},
		{
			name:     "patterns are anchored: full match only",
			patterns: []string{`secret`, `data\.mysecret`},
			want: map[string]any{
				"client_secret": "a",
				"config":        map[string]any{"secret_value": "b", "name": "c"},
				"items":         []any{map[string]any{"token": "d"}, map[string]any{"token": "e"}},
				"secretive":     map[string]any{"inner": "f"},
				"db.password":   "g",
				"mysecret":      "***",
			},
		},
		{
			name:     "list indexes are not part of the path",
			patterns: []string{`data\.items\.token`, `data\.db\.password`},
			want: map[string]any{
				"client_secret": "a",
				"config":        map[string]any{"secret_value": "b", "name": "c"},
				"items":         []any{map[string]any{"token": "***"}, map[string]any{"token": "***"}},
				"secretive":     map[string]any{"inner": "f"},
				"db.password":   "***",
				"mysecret":      "h",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProcessor(t, testConfig(regexMask(tt.patterns...)))
			got := run(t, p, attrs, nil, nil)
			assert.Equal(t, normalize(t, tt.want), got.attrs)
		})
	}
}

func TestRegexMask_ResourcePathsArePrefixedWithResource(t *testing.T) {
	p := newTestProcessor(t, testConfig(regexMask(`resource\.db\.password`, `(?i)data\..*password.*`)))
	got := run(t, p, map[string]any{"db.password": "x"}, map[string]any{"password": "y"}, map[string]any{"db.password": "z", "service.name": "api"})
	assert.Equal(t, map[string]any{"db.password": "***"}, got.attrs)
	assert.Equal(t, map[string]any{"password": "***"}, got.body)
	assert.Equal(t, map[string]any{"db.password": "***", "service.name": "api"}, got.resource)
}

// A newline in a parent key (attacker-controlled) must not stop `.` from matching across it: the secrets below are
// masked as they are under a plain key.
func TestRegexMask_NewlineInAParentKeyHidesNothing(t *testing.T) {
	cfg := testConfig(regexMask(`data\..*secret.*`))
	cfg.Presets = []string{"CREDENTIALS"}
	p := newTestProcessor(t, cfg)
	for _, parent := range []string{"cfg", "c\nfg"} {
		got := run(t, p, map[string]any{parent: map[string]any{"db_password": "hunter2", "my_secret": "s3cr3t"}}, nil, nil)
		assert.Equal(t, map[string]any{parent: map[string]any{"db_password": "***", "my_secret": "***"}}, got.attrs, "%q", parent)
	}
}

func TestRegexMask_CachedAnswersStayCorrectAcrossRecords(t *testing.T) {
	p := newTestProcessor(t, testConfig(regexMask(`(?i).*token.*`)))
	for i := 0; i < 50; i++ {
		got := run(t, p, map[string]any{"access_token": "t", "user": "u", "nested": map[string]any{"Token": "v"}}, nil, nil)
		assert.Equal(t, map[string]any{"access_token": "***", "user": "u", "nested": map[string]any{"Token": "***"}}, got.attrs)
	}
}

func TestFieldBlocker_BlocksHighRiskNamesAtAnyDepth(t *testing.T) {
	attrs := func() map[string]any {
		return map[string]any{
			"body":              "raw body text",
			"Request_Body":      map[string]any{"a": "b"},
			"http.raw_response": "dotted OTel key",
			"level1": map[string]any{"list": []any{
				map[string]any{"PAYLOAD": "deep", "ok": "kept"},
			}},
			"payloads": "not a blocked name",
		}
	}
	tests := []struct {
		name    string
		blocked []string
		allowed []string
		want    map[string]any
	}{
		{
			name: "fapilog's default list, case-insensitive, any depth",
			want: map[string]any{
				"body":              "[REDACTED:HIGH_RISK_FIELD]",
				"Request_Body":      "[REDACTED:HIGH_RISK_FIELD]",
				"http.raw_response": "[REDACTED:HIGH_RISK_FIELD]",
				"level1": map[string]any{"list": []any{
					map[string]any{"PAYLOAD": "[REDACTED:HIGH_RISK_FIELD]", "ok": "kept"},
				}},
				"payloads": "not a blocked name",
			},
		},
		{
			name:    "allow-list exempts names",
			allowed: []string{"Payload", "raw_response"},
			want: map[string]any{
				"body":              "[REDACTED:HIGH_RISK_FIELD]",
				"Request_Body":      "[REDACTED:HIGH_RISK_FIELD]",
				"http.raw_response": "dotted OTel key",
				"level1": map[string]any{"list": []any{
					map[string]any{"PAYLOAD": "deep", "ok": "kept"},
				}},
				"payloads": "not a blocked name",
			},
		},
		{
			name:    "custom list replaces the defaults",
			blocked: []string{"OK"},
			want: map[string]any{
				"body":              "raw body text",
				"Request_Body":      map[string]any{"a": "b"},
				"http.raw_response": "dotted OTel key",
				"level1": map[string]any{"list": []any{
					map[string]any{"PAYLOAD": "deep", "ok": "[REDACTED:HIGH_RISK_FIELD]"},
				}},
				"payloads": "not a blocked name",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProcessor(t, testConfig(fieldBlocker(tt.blocked, tt.allowed)))
			got := run(t, p, attrs(), nil, nil)
			assert.Equal(t, normalize(t, tt.want), got.attrs)
		})
	}
}

func TestFieldBlocker_TheRecordBodyItselfIsNotAField(t *testing.T) {
	p := newTestProcessor(t, testConfig(fieldBlocker(nil, nil)))
	assert.Equal(t, "the log message", redactString(t, p, "the log message"))
}

func TestPresets_Credentials(t *testing.T) {
	cfg := testConfig(RedactorConfig{}) // replaced below
	cfg.Redactors = []RedactorConfig{}
	cfg.Presets = []string{"CREDENTIALS"}
	p := newTestProcessor(t, cfg)
	got := run(t, p,
		map[string]any{
			"password":       "p1",
			"Authorization":  "Bearer x",
			"db.password":    "p2",
			"user":           map[string]any{"name": "alice", "api_key": "k1", "sessions": []any{map[string]any{"session_id": "s1"}}},
			"otp":            int64(123456),
			"my_auth_header": "h",
			"message_count":  int64(1),
		},
		map[string]any{"message": "login", "refresh_token": "r1", "nested": map[string]any{"Client_Secret": "c1"}},
		map[string]any{"password": "resource values are not covered by presets", "service.name": "auth-service"},
	)
	assert.Equal(t, map[string]any{
		"password":       "***",
		"Authorization":  "***",
		"db.password":    "***",
		"user":           map[string]any{"name": "alice", "api_key": "***", "sessions": []any{map[string]any{"session_id": "***"}}},
		"otp":            "***",
		"my_auth_header": "***",
		"message_count":  int64(1),
	}, got.attrs)
	assert.Equal(t, map[string]any{"message": "login", "refresh_token": "***", "nested": map[string]any{"Client_Secret": "***"}}, got.body)
	assert.Equal(t, map[string]any{"password": "resource values are not covered by presets", "service.name": "auth-service"}, got.resource)
}

func TestPresets_ComposeAndUseThePresetMask(t *testing.T) {
	cfg := testConfig()
	cfg.Presets = []string{"pci_dss", "GDPR_PII"}
	cfg.PresetMask = "[PII]"
	p := newTestProcessor(t, cfg)
	got := run(t, p, map[string]any{"cvv": "123", "card": map[string]any{"Expiry": "12/30"}, "email": "a@b.c", "iban": "DE00", "status": "ok"}, nil, nil)
	assert.Equal(t, map[string]any{"cvv": "[PII]", "card": map[string]any{"Expiry": "[PII]"}, "email": "[PII]", "iban": "[PII]", "status": "ok"}, got.attrs)
}

func TestPresets_RunBeforeTheRedactors(t *testing.T) {
	// string_truncate runs after the preset mask, so it sees the mask, not the secret.
	cfg := testConfig(truncateAt(2))
	cfg.Presets = []string{"CREDENTIALS"}
	p := newTestProcessor(t, cfg)
	got := run(t, p, map[string]any{"password": "hunter2"}, nil, nil)
	assert.Equal(t, map[string]any{"password": "**[truncated]"}, got.attrs)
}

func TestNameSet_MatchesWholeKeyOrLastComponent(t *testing.T) {
	ns := newNameSet([]string{"password", "Body"}, []string{"safe.password"})
	for key, want := range map[string]bool{
		"password":      true,
		"PASSWORD":      true,
		"db.password":   true,
		"db.Password":   true,
		"password.hint": false,
		"passwords":     false,
		"body":          true,
		"safe.password": false,
		"x.body":        true,
		"":              false,
		"a.very.long.key.that.is.not.in.the.set.at.all.password": true,
	} {
		assert.Equal(t, want, ns.match(key), key)
	}
}
