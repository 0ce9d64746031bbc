package tokens_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kycflow/kycflow/internal/tokens"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"one", []string{"one"}},
		{" new , old ", []string{"new", "old"}},
		{"new,,old,", []string{"new", "old"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tokens.Split(tt.in), "Split(%q)", tt.in)
	}
}

func TestMatch(t *testing.T) {
	want := []string{"new-token-0123456789", "old-token-0123456789"}
	tests := []struct {
		got  string
		want int
	}{
		{"new-token-0123456789", 0},
		{"old-token-0123456789", 1},
		{"old-token-012345678", -1},
		{"", -1},
		{"other", -1},
		{"new-token-0123456789x", -1}, // a longer token with the right prefix
		{"new-token-0123456789\x00", -1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tokens.Match(tt.got, want), "Match(%q)", tt.got)
	}
	assert.Equal(t, -1, tokens.Match("", []string{""}), "an empty token never matches")
}
