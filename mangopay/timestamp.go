package mangopay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is a Mangopay date: Unix seconds, UTC, encoded as a JSON
// integer. Decoding also accepts a float ("1746449852.0") and a numeric
// string. Nullable dates are *Timestamp; JSON null decodes to nil.
type Timestamp int64

// TimestampOf returns t as a Timestamp, truncated to the second.
func TimestampOf(t time.Time) Timestamp {
	return Timestamp(t.Unix())
}

// Time returns the timestamp as a UTC time.Time.
func (t Timestamp) Time() time.Time {
	return time.Unix(int64(t), 0).UTC()
}

// IsZero reports whether t is the Unix epoch, i.e. unset.
func (t Timestamp) IsZero() bool {
	return t == 0
}

// String formats t as RFC 3339.
func (t Timestamp) String() string {
	return t.Time().Format(time.RFC3339)
}

// MarshalJSON encodes t as an integer.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(t), 10), nil
}

// UnmarshalJSON decodes an integer, a float or a numeric string; null leaves
// t unchanged.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	s := string(data)
	if len(data) > 0 && data[0] == '"' {
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("timestamp: %w", err)
		}
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*t = Timestamp(i)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxInt64/2 {
		return fmt.Errorf("timestamp: %s is not a Unix time", data)
	}
	*t = Timestamp(int64(f))
	return nil
}
