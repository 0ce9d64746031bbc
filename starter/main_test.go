package main

import (
	"bytes"
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBadInputAndUnreachableTemporal(t *testing.T) {
	// A port where nothing listens: Temporal is unreachable.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	t.Setenv("TEMPORAL_ADDRESS", dead)
	// Outside development the starter needs the payload key, or this.
	t.Setenv("PAYLOAD_ENCRYPTION", "off")

	tests := []starterCase{
		{"no user", []string{"--return-url", "https://p.example/done"}, 2, "--user-id is required"},
		{"no return url", []string{"--user-id", "user_m_1"}, 2, "--return-url"},
		{"relative return url", []string{"--user-id", "user_m_1", "--return-url", "/done"}, 2, "absolute http or https URL"},
		{"javascript url", []string{"--user-id", "user_m_1", "--return-url", "javascript:alert(1)"}, 2, "absolute http or https URL"},
		{"unknown flag", []string{"--user", "x"}, 2, "flag provided but not defined"},
		{"unknown language", []string{"--user-id", "user_m_1", "--return-url", "https://p.example/done", "--session-language", "xx"}, 2, "--session-language"},
		{"reopen without a reason", []string{"--reopen", "--operator", "alice", "--user-id", "user_m_1", "--return-url", "https://p.example/done"}, 2, "--reason is required"},
		{"reopen without an operator", []string{"--reopen", "--reason", "new proof", "--user-id", "user_m_1", "--return-url", "https://p.example/done"}, 2, "KYCFLOW_OPERATOR"},
		{"adopt with nothing to adopt", []string{"adopt"}, 2, "give either --user-ids or --all-owners"},
		{"adopt with both", []string{"adopt", "--user-ids", "user_m_1", "--all-owners"}, 2, "give either --user-ids or --all-owners"},
		{"adopt at no pace", []string{"adopt", "--user-ids", "user_m_1", "--per-second", "0"}, 2, "--per-second must be positive"},
		{"adopt with a bad return url", []string{"adopt", "--user-ids", "user_m_1", "--return-url", "ftp://x"}, 2, "--return-url"},
		{"adopt, temporal unreachable", []string{"adopt", "--user-ids", "user_m_1"}, 3, "cannot reach Temporal at " + dead},
		{"needs-attention with an argument", []string{"needs-attention", "extra"}, 2, `unexpected argument "extra"`},
		{"needs-attention, temporal unreachable", []string{"needs-attention", "--timeout", "3s"}, 3, "cannot reach Temporal at " + dead},
		{"temporal unreachable", []string{"--user-id", "user_m_1", "--return-url", "https://p.example/done", "--timeout", "3s"}, 3, "cannot reach Temporal at " + dead},
	}
	runAll(t, tests)
}

func TestAdoptAllOwnersDrawsFromTheFleetsBudget(t *testing.T) {
	// Listing every owner is a sweep of Mangopay calls: the starter takes
	// them from the call budget in the fleet's Redis, and refuses to go
	// without it rather than list outside the budget.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	t.Setenv("TEMPORAL_ADDRESS", dead)
	t.Setenv("PAYLOAD_ENCRYPTION", "off")
	t.Setenv("REDIS_URL", "redis://"+dead+"/0")
	t.Setenv("MANGOPAY_CLIENT_ID", "platform")
	t.Setenv("MANGOPAY_API_KEY", "key")
	runAll(t, []starterCase{
		{"adopt all owners, redis unreachable", []string{"adopt", "--all-owners"}, 3, "cannot reach Redis (the Mangopay call budget)"},
	})
}

type starterCase struct {
	name     string
	args     []string
	wantCode int
	wantMsg  string
}

func runAll(t *testing.T, tests []starterCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(tt.args, &out)
			var ee exitError
			require.True(t, errors.As(err, &ee), "got %v", err)
			assert.Equal(t, tt.wantCode, ee.code)
			assert.Contains(t, ee.Error(), tt.wantMsg)
			assert.Empty(t, out.String(), "nothing on stdout when it fails")
		})
	}
}
