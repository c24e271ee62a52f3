// Package destination names a record's destination (a file path, a Loki tenant, a CloudWatch log group or
// stream, a PostgreSQL identifier) from a template with {resource.attribute} placeholders, sanitised by the
// destination's own rules, and caps the number of distinct destinations an exporter routes to.
package destination
