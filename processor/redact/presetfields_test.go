package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The field names of fapilog's redaction presets (fapilog/redaction/presets.py), and which presets each regulation
// preset extends. Each name must be masked by its preset and by every preset that extends it, so that no name of
// the registry is lost from the mirror.
var (
	fapilogPresetFields = map[string][]string{
		"CONTACT_INFO": {"email", "e_mail", "email_address", "phone", "phone_number", "telephone", "mobile", "cell", "fax",
			"address", "street", "street_address", "postal_address", "postcode", "postal_code", "zipcode", "zip_code", "zip",
			"city", "town", "state", "province", "country"},
		"PERSONAL_IDENTIFIERS": {"name", "first_name", "last_name", "full_name", "surname", "given_name", "middle_name",
			"maiden_name", "nickname", "dob", "date_of_birth", "birth_date", "birthday", "age", "gender", "sex"},
		"ONLINE_IDENTIFIERS": {"ip", "ip_address", "ipv4", "ipv6", "client_ip", "remote_ip", "device_id", "device_identifier",
			"udid", "idfa", "gaid", "mac_address", "hardware_id", "user_agent", "browser_fingerprint", "cookie_id",
			"tracking_id", "visitor_id"},
		"FINANCIAL_IDENTIFIERS": {"iban", "bic", "swift", "bank_account", "account_number", "account_no", "sort_code",
			"routing_number", "bsb"},
		"US_GOVERNMENT_IDS": {"ssn", "social_security", "social_security_number", "itin", "ein", "passport",
			"passport_number", "drivers_license", "driver_license", "dl_number"},
		"UK_GOVERNMENT_IDS": {"national_insurance", "ni_number", "nino", "nhs_number", "passport", "passport_number",
			"driving_licence", "licence_number"},
		"EU_GOVERNMENT_IDS": {"national_id", "id_number", "identity_number", "id_card", "passport", "passport_number",
			"tax_id", "tin", "vat_number", "drivers_license", "licence_number"},
		"GDPR_PII":    {"biometric_data", "genetic_data", "health_data"},
		"GDPR_PII_UK": {},
		"CCPA_PII":    {"household_id", "inferred_preferences", "purchase_history"},
		"HIPAA_PHI": {"mrn", "medical_record_number", "patient_id", "health_plan_id", "beneficiary_id", "account_number",
			"certificate_number", "license_number", "vehicle_id", "vin", "device_serial", "device_identifier", "url",
			"web_url", "biometric_id", "fingerprint", "voiceprint", "photo", "image"},
		"PCI_DSS": {"card_number", "credit_card", "cc_number", "pan", "cvv", "cvc", "cvv2", "cid", "security_code",
			"card_security", "expiry", "expiry_date", "expiration", "exp_date", "exp_month", "exp_year", "cardholder",
			"cardholder_name", "card_holder", "card_pin", "pin", "track_data", "track1", "track2"},
		"CREDENTIALS": {"password", "passwd", "pwd", "pass", "secret", "api_secret", "client_secret", "shared_secret",
			"token", "access_token", "refresh_token", "auth_token", "bearer_token", "jwt", "api_key", "apikey", "api_token",
			"private_key", "secret_key", "signing_key", "encryption_key", "authorization", "auth_header", "session_id",
			"session_token", "session_key", "cookie", "session_cookie", "auth_cookie", "otp", "totp", "mfa_code",
			"verification_code"},
	}
	fapilogPresetExtends = map[string][]string{
		"GDPR_PII":    {"CONTACT_INFO", "PERSONAL_IDENTIFIERS", "ONLINE_IDENTIFIERS", "FINANCIAL_IDENTIFIERS", "EU_GOVERNMENT_IDS"},
		"GDPR_PII_UK": {"GDPR_PII", "UK_GOVERNMENT_IDS"},
		"CCPA_PII":    {"CONTACT_INFO", "PERSONAL_IDENTIFIERS", "ONLINE_IDENTIFIERS", "FINANCIAL_IDENTIFIERS", "US_GOVERNMENT_IDS"},
		"HIPAA_PHI":   {"CONTACT_INFO", "PERSONAL_IDENTIFIERS", "US_GOVERNMENT_IDS"},
	}
)

func fapilogPresetNames(preset string) []string {
	names := append([]string{}, fapilogPresetFields[preset]...)
	for _, parent := range fapilogPresetExtends[preset] {
		names = append(names, fapilogPresetNames(parent)...)
	}
	return names
}

func TestPresets_EachMasksEveryFieldNameOfFapilogsPresetAndOfThoseItExtends(t *testing.T) {
	for preset := range fapilogPresetFields {
		t.Run(preset, func(t *testing.T) {
			cfg := testConfig()
			cfg.Redactors = []RedactorConfig{}
			cfg.Presets = []string{preset}
			p := newTestProcessor(t, cfg)
			attrs := map[string]any{"status": "ok"}
			want := map[string]any{"status": "ok"}
			for _, name := range fapilogPresetNames(preset) {
				attrs[name] = "v"
				want[name] = "***"
			}
			assert.Equal(t, want, run(t, p, attrs, nil, nil).attrs)
		})
	}
}
