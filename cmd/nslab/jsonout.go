package main

import (
	"encoding/json"
	"io"
	"time"
)

// jsonSchema versions the shape of every --json output (list, run, doctor,
// inspect, bench): each is an object whose first field is "schema". It goes
// up when a field changes meaning or goes away; a new field keeps it. Keys
// are lower-case snake_case; durations are milliseconds in fields ending
// in _ms.
const jsonSchema = 1

// writeJSON writes v indented, as every --json output is.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
