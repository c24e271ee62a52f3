package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFieldMask_PathForms(t *testing.T) {
	attrs := func() map[string]any {
		return map[string]any{
			"password": "hunter2",
			"user": map[string]any{
				"name": "alice",
				"ssn":  "123-45-6789",
				"ids":  map[string]any{"home": map[string]any{"ssn": "1"}, "work": map[string]any{"ssn": "2"}},
			},
			"tags":                              []any{"a", "b"},
			"http.request.header.authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
			"http":                              map[string]any{"request.cookie": "sid=1"},
			"count":                             int64(3),
		}
	}
	body := func() map[string]any {
		return map[string]any{
			"message":  "login",
			"password": "body-secret",
			"cards": []any{
				map[string]any{"number": "4111", "brand": "visa"},
				map[string]any{"number": "5500", "brand": "mc"},
			},
		}
	}
	resource := func() map[string]any {
		return map[string]any{"service.name": "api", "db": map[string]any{"password": "res-secret"}}
	}

	tests := []struct {
		name      string
		fields    []string
		wantAttrs func(map[string]any)
		wantBody  func(map[string]any)
		wantRes   func(map[string]any)
	}{
		{
			name:   "data path covers attributes and map body",
			fields: []string{"data.password"},
			wantAttrs: func(a map[string]any) {
				a["password"] = "***"
			},
			wantBody: func(b map[string]any) { b["password"] = "***" },
		},
		{
			name:      "bare path behaves like data",
			fields:    []string{"password"},
			wantAttrs: func(a map[string]any) { a["password"] = "***" },
			wantBody:  func(b map[string]any) { b["password"] = "***" },
		},
		{
			name:      "attributes root only",
			fields:    []string{"attributes.password"},
			wantAttrs: func(a map[string]any) { a["password"] = "***" },
		},
		{
			name:     "body root only",
			fields:   []string{"body.password"},
			wantBody: func(b map[string]any) { b["password"] = "***" },
		},
		{
			name:    "resource root",
			fields:  []string{"resource.db.password"},
			wantRes: func(r map[string]any) { r["db"].(map[string]any)["password"] = "***" },
		},
		{
			name:   "nested key",
			fields: []string{"attributes.user.ssn"},
			wantAttrs: func(a map[string]any) {
				a["user"].(map[string]any)["ssn"] = "***"
			},
		},
		{
			name:   "wildcard over map keys",
			fields: []string{"attributes.user.ids.*.ssn"},
			wantAttrs: func(a map[string]any) {
				ids := a["user"].(map[string]any)["ids"].(map[string]any)
				ids["home"].(map[string]any)["ssn"] = "***"
				ids["work"].(map[string]any)["ssn"] = "***"
			},
		},
		{
			name:   "bracket wildcard over a list",
			fields: []string{"body.cards[*].number"},
			wantBody: func(b map[string]any) {
				for _, c := range b["cards"].([]any) {
					c.(map[string]any)["number"] = "***"
				}
			},
		},
		{
			name:   "dot wildcard over a list",
			fields: []string{"body.cards.*.number"},
			wantBody: func(b map[string]any) {
				for _, c := range b["cards"].([]any) {
					c.(map[string]any)["number"] = "***"
				}
			},
		},
		{
			name:   "numeric index in brackets",
			fields: []string{"body.cards[1].number"},
			wantBody: func(b map[string]any) {
				b["cards"].([]any)[1].(map[string]any)["number"] = "***"
			},
		},
		{
			name:   "numeric index as a segment",
			fields: []string{"body.cards.0.number"},
			wantBody: func(b map[string]any) {
				b["cards"].([]any)[0].(map[string]any)["number"] = "***"
			},
		},
		{
			name:   "lists are traversed transparently",
			fields: []string{"body.cards.number"},
			wantBody: func(b map[string]any) {
				for _, c := range b["cards"].([]any) {
					c.(map[string]any)["number"] = "***"
				}
			},
		},
		{
			name:      "terminal wildcard masks every list element",
			fields:    []string{"attributes.tags[*]"},
			wantAttrs: func(a map[string]any) { a["tags"] = []any{"***", "***"} },
		},
		{
			name:      "a container is masked whole",
			fields:    []string{"attributes.user"},
			wantAttrs: func(a map[string]any) { a["user"] = "***" },
		},
		{
			name:      "a non-string value is masked",
			fields:    []string{"count"},
			wantAttrs: func(a map[string]any) { a["count"] = "***" },
		},
		{
			name:   "dotted OTel key matched by literal segments",
			fields: []string{"attributes.http.request.header.authorization", "attributes.http.request.cookie"},
			wantAttrs: func(a map[string]any) {
				a["http.request.header.authorization"] = "***"
				a["http"].(map[string]any)["request.cookie"] = "***"
			},
		},
		{
			name:   "absent paths leave the record untouched",
			fields: []string{"attributes.nope", "body.cards[7].number", "attributes.password.deeper", "resource.x.y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProcessor(t, testConfig(fieldMask("", tt.fields...)))
			got := run(t, p, attrs(), body(), resource())
			wantA, wantB, wantR := attrs(), body(), resource()
			for _, f := range []struct {
				fn   func(map[string]any)
				into map[string]any
			}{{tt.wantAttrs, wantA}, {tt.wantBody, wantB}, {tt.wantRes, wantR}} {
				if f.fn != nil {
					f.fn(f.into)
				}
			}
			assert.Equal(t, normalize(t, wantA), got.attrs)
			assert.Equal(t, normalize(t, wantB), got.body)
			assert.Equal(t, normalize(t, wantR), got.resource)
		})
	}
}

// normalize passes a raw map through pcommon so types compare equal (int -> int64 and so on).
func normalize(t *testing.T, m map[string]any) map[string]any {
	ld := logsOf(t, m, nil, nil)
	return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
}

func TestFieldMask_IsIdempotent(t *testing.T) {
	p := newTestProcessor(t, testConfig(fieldMask("[MASKED]", "password", "token")))
	once := run(t, p, map[string]any{"password": "x", "token": "[MASKED]"}, nil, nil)
	twice := run(t, p, once.attrs, nil, nil)
	assert.Equal(t, map[string]any{"password": "[MASKED]", "token": "[MASKED]"}, once.attrs)
	assert.Equal(t, once.attrs, twice.attrs)
}

func TestFieldMask_StringBodyIsNotAddressable(t *testing.T) {
	p := newTestProcessor(t, testConfig(fieldMask("", "body.message", "message")))
	assert.Equal(t, "plain message", redactString(t, p, "plain message"))
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in    string
		roots root
		segs  []segment
		err   string
	}{
		{in: "password", roots: rootData, segs: []segment{{kind: segName, name: "password"}}},
		{in: "body", roots: rootData, segs: []segment{{kind: segName, name: "body"}}},
		{in: "data.user.email", roots: rootData, segs: []segment{{name: "user"}, {name: "email"}}},
		{in: "attributes.x", roots: rootAttributes, segs: []segment{{name: "x"}}},
		{in: "resource.x", roots: rootResource, segs: []segment{{name: "x"}}},
		{in: "body.cards[*].number", roots: rootBody, segs: []segment{{name: "cards"}, {kind: segAny}, {name: "number"}}},
		{in: "body.m[0][12]", roots: rootBody, segs: []segment{{name: "m"}, {kind: segIndex, name: "0"}, {kind: segIndex, name: "12", index: 12}}},
		{in: "user.*.[*].3", roots: rootData, segs: []segment{{name: "user"}, {kind: segAny}, {kind: segAny}, {kind: segIndex, name: "3", index: 3}}},
		{in: "a..b", err: "empty segment"},
		{in: "", err: "non-empty"},
		{in: " a", err: "non-empty"},
		{in: "a[x]", err: "index must be a number or *"},
		{in: "a[1", err: "unclosed"},
		{in: "a]", err: "unbalanced"},
		{in: "a[1]b", err: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := parsePath(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.roots, p.roots)
			assert.Equal(t, tt.segs, p.segs)
		})
	}
}
