package stack_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/kycflow/kycflow/devstack/stack"
)

// make dev starts clean: with a Redis of its own (embedded) it needs
// nothing; with a shared one (REDIS_URL) each run reads and writes its own
// keys, unless the developer chose a prefix to keep.
func TestRunKeyPrefixStartsEachRunClean(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name       string
		url        string
		configured string
		explicit   bool
		want       string
	}{
		{"embedded Redis", "", "kycflow-dev", false, "kycflow-dev"},
		{"REDIS_URL, the default prefix", "redis://127.0.0.1:6379/0", "kycflow-dev", false, "kycflow-dev-1800000000"},
		{"REDIS_URL, a prefix chosen to keep", "redis://127.0.0.1:6379/0", "mine", true, "mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, stack.RunKeyPrefix(tt.url, tt.configured, tt.explicit, start))
		})
	}
	next := stack.RunKeyPrefix("redis://127.0.0.1:6379/0", "kycflow-dev", false, start.Add(time.Minute))
	assert.NotEqual(t, stack.RunKeyPrefix("redis://127.0.0.1:6379/0", "kycflow-dev", false, start), next, "the next run starts clean")
}
