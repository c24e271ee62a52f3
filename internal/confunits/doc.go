// Package confunits parses the human units fapilog's settings accept in collector YAML: sizes such as "10 MB"
// and rotation intervals such as "daily" or "90m", each also as a plain number.
package confunits
