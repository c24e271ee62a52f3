package redact // import "github.com/fapilog/fapilog-otelcol/processor/redact"

import (
	"sort"
	"strings"
)

// preset is one of fapilog's named redaction sets: exact field names plus regexes over the dotted path.
// Presets compose: a preset's fields and patterns include those of the presets it extends.
type preset struct {
	fields   []string
	patterns []string
	extends  []string
}

// presets mirrors fapilog's redaction preset registry (names, fields, path patterns and composition).
var presets = map[string]preset{
	"CONTACT_INFO": {
		fields: []string{
			"email", "e_mail", "email_address", "phone", "phone_number", "telephone", "mobile", "cell", "fax",
			"address", "street", "street_address", "postal_address", "postcode", "postal_code", "zipcode",
			"zip_code", "zip", "city", "town", "state", "province", "country",
		},
		patterns: []string{
			`(?i).*email.*`, `(?i).*phone.*`, `(?i).*mobile.*`, `(?i).*address.*`, `(?i).*postcode.*`,
			`(?i).*zipcode.*`,
		},
	},
	"PERSONAL_IDENTIFIERS": {
		fields: []string{
			"name", "first_name", "last_name", "full_name", "surname", "given_name", "middle_name", "maiden_name",
			"nickname", "dob", "date_of_birth", "birth_date", "birthday", "age", "gender", "sex",
		},
		patterns: []string{`(?i).*\bname\b.*`, `(?i).*\bdob\b.*`, `(?i).*birth.*`},
	},
	"ONLINE_IDENTIFIERS": {
		fields: []string{
			"ip", "ip_address", "ipv4", "ipv6", "client_ip", "remote_ip", "device_id", "device_identifier", "udid",
			"idfa", "gaid", "mac_address", "hardware_id", "user_agent", "browser_fingerprint", "cookie_id",
			"tracking_id", "visitor_id",
		},
		patterns: []string{`(?i).*\bip\b.*`, `(?i).*device.?id.*`, `(?i).*mac.?addr.*`},
	},
	"FINANCIAL_IDENTIFIERS": {
		fields: []string{
			"iban", "bic", "swift", "bank_account", "account_number", "account_no", "sort_code", "routing_number",
			"bsb",
		},
		patterns: []string{`(?i).*\biban\b.*`, `(?i).*account.?(num|no).*`, `(?i).*routing.*`},
	},
	"US_GOVERNMENT_IDS": {
		fields: []string{
			"ssn", "social_security", "social_security_number", "itin", "ein", "passport", "passport_number",
			"drivers_license", "driver_license", "dl_number",
		},
		patterns: []string{`(?i).*\bssn\b.*`, `(?i).*social.?security.*`},
	},
	"UK_GOVERNMENT_IDS": {
		fields: []string{
			"national_insurance", "ni_number", "nino", "nhs_number", "passport", "passport_number",
			"driving_licence", "licence_number",
		},
		patterns: []string{
			`(?i).*national.?insurance.*`, `(?i).*\bni.?(num|no)\b.*`, `(?i).*\bnino\b.*`, `(?i).*\bnhs\b.*`,
		},
	},
	"EU_GOVERNMENT_IDS": {
		fields: []string{
			"national_id", "id_number", "identity_number", "id_card", "passport", "passport_number", "tax_id", "tin",
			"vat_number", "drivers_license", "licence_number",
		},
		patterns: []string{
			`(?i).*national.?id.*`, `(?i).*passport.*`, `(?i).*\btin\b.*`, `(?i).*tax.?id.*`, `(?i).*licen[cs]e.*`,
		},
	},
	"GDPR_PII": {
		extends: []string{
			"CONTACT_INFO", "PERSONAL_IDENTIFIERS", "ONLINE_IDENTIFIERS", "FINANCIAL_IDENTIFIERS", "EU_GOVERNMENT_IDS",
		},
		fields: []string{"biometric_data", "genetic_data", "health_data"},
	},
	"GDPR_PII_UK": {
		extends: []string{"GDPR_PII", "UK_GOVERNMENT_IDS"},
	},
	"CCPA_PII": {
		extends: []string{
			"CONTACT_INFO", "PERSONAL_IDENTIFIERS", "ONLINE_IDENTIFIERS", "FINANCIAL_IDENTIFIERS", "US_GOVERNMENT_IDS",
		},
		fields: []string{"household_id", "inferred_preferences", "purchase_history"},
	},
	"HIPAA_PHI": {
		extends: []string{"CONTACT_INFO", "PERSONAL_IDENTIFIERS", "US_GOVERNMENT_IDS"},
		fields: []string{
			"mrn", "medical_record_number", "patient_id", "health_plan_id", "beneficiary_id", "account_number",
			"certificate_number", "license_number", "vehicle_id", "vin", "device_serial", "device_identifier", "url",
			"web_url", "biometric_id", "fingerprint", "voiceprint", "photo", "image",
		},
		patterns: []string{
			`(?i).*\bmrn\b.*`, `(?i).*medical.?record.*`, `(?i).*patient.?id.*`, `(?i).*health.?plan.*`,
		},
	},
	"PCI_DSS": {
		fields: []string{
			"card_number", "credit_card", "cc_number", "pan", "cvv", "cvc", "cvv2", "cid", "security_code",
			"card_security", "expiry", "expiry_date", "expiration", "exp_date", "exp_month", "exp_year", "cardholder",
			"cardholder_name", "card_holder", "card_pin", "pin", "track_data", "track1", "track2",
		},
		patterns: []string{
			`(?i).*card.?(num|no).*`, `(?i).*credit.?card.*`, `(?i).*\bcvv\b.*`, `(?i).*\bcvc\b.*`, `(?i).*expir.*`,
			`(?i).*cardholder.*`, `(?i).*\bpan\b.*`,
		},
	},
	"CREDENTIALS": {
		fields: []string{
			"password", "passwd", "pwd", "pass", "secret", "api_secret", "client_secret", "shared_secret", "token",
			"access_token", "refresh_token", "auth_token", "bearer_token", "jwt", "api_key", "apikey", "api_token",
			"private_key", "secret_key", "signing_key", "encryption_key", "authorization", "auth_header",
			"session_id", "session_token", "session_key", "cookie", "session_cookie", "auth_cookie", "otp", "totp",
			"mfa_code", "verification_code",
		},
		patterns: []string{
			`(?i).*password.*`, `(?i).*passwd.*`, `(?i).*\bsecret\b.*`, `(?i).*\btoken\b.*`, `(?i).*api.?key.*`,
			`(?i).*private.?key.*`, `(?i).*auth.*`, `(?i).*\botp\b.*`,
		},
	},
}

// lookupPreset finds a preset by name, case-insensitively.
func lookupPreset(name string) (preset, bool) {
	p, ok := presets[strings.ToUpper(strings.TrimSpace(name))]
	return p, ok
}

func presetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// resolvePresets returns the union of the named presets' fields and patterns (inherited ones included),
// each once, in a stable order.
func resolvePresets(names []string) (fields, patterns []string) {
	seenF, seenP, visited := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		name = strings.ToUpper(strings.TrimSpace(name))
		if visited[name] {
			return
		}
		visited[name] = true
		p, ok := presets[name]
		if !ok {
			return
		}
		for _, f := range p.fields {
			if !seenF[f] {
				seenF[f] = true
				fields = append(fields, f)
			}
		}
		for _, pat := range p.patterns {
			if !seenP[pat] {
				seenP[pat] = true
				patterns = append(patterns, pat)
			}
		}
		for _, e := range p.extends {
			walk(e)
		}
	}
	for _, n := range names {
		walk(n)
	}
	return fields, patterns
}
