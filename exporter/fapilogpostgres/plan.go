package fapilogpostgres

import (
	"fmt"
	"slices"
	"strings"
)

// columnKind is how a value is written in binary COPY format.
type columnKind uint8

const (
	kindText      columnKind = iota // text, varchar, char: UTF-8 bytes
	kindTimestamp                   // timestamptz / timestamp: int64 microseconds since 2000-01-01 UTC
	kindJSON                        // json: the JSON text
	kindJSONB                       // jsonb: version byte 1, then the JSON text
)

// copyColumn is one column of the COPY column list.
type copyColumn struct {
	name  string
	kind  columnKind
	field extractField // unused for the event column
	// maxChars is the declared length of a varchar/char column (0: unlimited); longer values are cut to it,
	// since the full value is always kept in event.
	maxChars int
	// sqlType is the column's type as information_schema spells it, used for the staging table.
	sqlType string
}

// tablePlan is how rows are loaded into one verified table. It is immutable once built.
type tablePlan struct {
	// columns in COPY order: event first, then the extracted fields, then message_id when it is stored only for
	// duplicate protection.
	columns []copyColumn
	// includeRaw: event holds the whole envelope; otherwise the extracted fields as a JSON object.
	includeRaw bool
	// extracted lists the extract_fields in configuration order, for the include_raw_json: false event object.
	extracted []extractField

	copySQL string
	// dedup: message_id has a unique index, so a batch that hits a unique violation is merged through a staging
	// table with ON CONFLICT (message_id) DO NOTHING.
	dedup    bool
	stageSQL string
	// stageCopySQL loads the staging table; mergeSQL moves its rows into the table, skipping known message_ids.
	stageCopySQL string
	mergeSQL     string

	// warnings to log once when the plan is adopted.
	warnings []string
}

// stageTable is the per-transaction staging table of the duplicate-safe path.
const stageTable = "pg_temp.fapilog_stage"

// tableMismatchError is a table that is missing or does not match the configuration: the configuration is refused
// until an operator changes the table or the configuration, so it is a startup error, and a permanent one (with a
// permanent component status) when it is found while running.
type tableMismatchError struct{ msg string }

func (e *tableMismatchError) Error() string { return e.msg }

func mismatch(format string, args ...any) error {
	return &tableMismatchError{msg: fmt.Sprintf(format, args...)}
}

// buildPlan checks the table's columns against the spec and plans the COPY. A missing table, a missing column,
// a column of an unusable type, a NOT NULL column the exporter cannot fill, or (with partitioning) a table that is
// not partitioned by timestamp is an error, reported at start. uniqueKeys are the key columns of the table's unique
// indexes; duplicate protection needs one on info.dedupKey().
func buildPlan(s *tableSpec, cols []tableColumn, info tableInfo, uniqueKeys [][]string) (*tablePlan, error) {
	tbl := s.qualified()
	if len(cols) == 0 {
		if s.createTable {
			return nil, mismatch("table %s does not exist or is not visible to this user", tbl)
		}
		return nil, mismatch("table %s does not exist (create_table is false): create it with the DDL in the README or set create_table: true", tbl)
	}
	byName := make(map[string]tableColumn, len(cols))
	for _, c := range cols {
		byName[c.name] = c
	}
	p := &tablePlan{includeRaw: s.includeRaw, extracted: s.extract}
	var problems []string

	ev, ok := byName[eventColumn]
	switch {
	case !ok:
		problems = append(problems, fmt.Sprintf("has no column %q", eventColumn))
	case ev.dataType == "jsonb" && !s.useJSONB:
		problems = append(problems, fmt.Sprintf("column %q is jsonb but use_jsonb is false", eventColumn))
	case ev.dataType == "json" && s.useJSONB:
		problems = append(problems, fmt.Sprintf("column %q is json but use_jsonb is true", eventColumn))
	case ev.dataType != "json" && ev.dataType != "jsonb":
		problems = append(problems, fmt.Sprintf("column %q is %s; it must be %s", eventColumn, ev.dataType, strings.ToLower(s.eventType())))
	default:
		kind := kindJSON
		if ev.dataType == "jsonb" {
			kind = kindJSONB
		}
		p.columns = append(p.columns, copyColumn{name: eventColumn, kind: kind, sqlType: ev.dataType})
	}

	addField := func(f extractField, why string) {
		c, ok := byName[f.name]
		if !ok {
			problems = append(problems, fmt.Sprintf("has no column %q (%s)", f.name, why))
			return
		}
		cc := copyColumn{name: f.name, field: f, sqlType: c.dataType}
		usable := false
		switch c.dataType {
		case "text":
			usable = f.source != sourceTimestamp
		case "character varying", "character":
			usable = f.source != sourceTimestamp
			if c.maxChars > 0 {
				cc.maxChars, cc.sqlType = c.maxChars, fmt.Sprintf("%s(%d)", c.dataType, c.maxChars)
			}
		case "timestamp with time zone", "timestamp without time zone":
			usable, cc.kind = f.source == sourceTimestamp, kindTimestamp
		}
		if !usable {
			want := "text, varchar or char"
			if f.source == sourceTimestamp {
				want = "timestamptz or timestamp"
			}
			problems = append(problems, fmt.Sprintf("column %q is %s; it must be %s", f.name, c.dataType, want))
			return
		}
		p.columns = append(p.columns, cc)
	}
	for _, f := range s.extract {
		addField(f, "extract_fields names it")
	}
	if s.dedup && !s.extracts(messageIDColumn) {
		if _, ok := byName[messageIDColumn]; ok {
			f, _ := lookupExtractField(messageIDColumn)
			addField(f, "deduplicate")
		}
	}

	written := make(map[string]bool, len(p.columns))
	for _, c := range p.columns {
		written[c.name] = true
	}
	for _, c := range cols {
		if !c.nullable && !c.hasDefault && !written[c.name] && c.name != eventColumn {
			problems = append(problems, fmt.Sprintf("column %q is NOT NULL without a default, and fapilogpostgres does not write it", c.name))
		}
	}
	if s.partitioning != nil {
		if err := s.checkPartitioned(info); err != nil {
			return nil, err
		}
	}
	if len(problems) > 0 {
		return nil, mismatch("table %s does not match the configuration: %s", tbl, strings.Join(problems, "; "))
	}

	names := make([]string, len(p.columns))
	defs := make([]string, len(p.columns))
	for i, c := range p.columns {
		names[i] = quoteIdent(c.name)
		defs[i] = names[i] + " " + c.sqlType
	}
	list := strings.Join(names, ", ")
	p.copySQL = "COPY " + tbl + " (" + list + ") FROM STDIN (FORMAT binary)"

	if s.dedup {
		key := info.dedupKey()
		if written[messageIDColumn] && hasUniqueKey(uniqueKeys, key) {
			p.dedup = true
			p.stageSQL = "CREATE TEMP TABLE fapilog_stage (" + strings.Join(defs, ", ") + ") ON COMMIT DROP"
			p.stageCopySQL = "COPY " + stageTable + " (" + list + ") FROM STDIN (FORMAT binary)"
			p.mergeSQL = "INSERT INTO " + tbl + " (" + list + ") SELECT " + list + " FROM " + stageTable +
				" ON CONFLICT (" + quoteList(key) + ") DO NOTHING"
		} else {
			fix := fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS message_id TEXT; CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (%s)",
				tbl, quoteIdent(indexName(s.table, indexMessageID)), tbl, quoteList(key))
			p.warnings = append(p.warnings, fmt.Sprintf("deduplicate is on but table %s has no message_id column with a unique index: "+
				"loading with plain COPY, so a batch retried after an ambiguous failure (connection lost after COPY was sent) "+
				"may be stored twice. To enable duplicate protection run: %s", tbl, fix))
		}
	}
	return p, nil
}

// hasUniqueKey reports whether one of keys has exactly the columns of want, in any order.
func hasUniqueKey(keys [][]string, want []string) bool {
	for _, k := range keys {
		if len(k) != len(want) {
			continue
		}
		match := true
		for _, c := range want {
			match = match && slices.Contains(k, c)
		}
		if match {
			return true
		}
	}
	return false
}
