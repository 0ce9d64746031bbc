package kycworker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/worker/kycworker"
)

func TestStickyCacheSizeFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name  string
		limit int64
		want  int
	}{
		{name: "no limit: the measured default", limit: 0, want: kycworker.DefaultStickyCacheSize},
		{name: "300 MB", limit: 300_000_000, want: 1696},
		{name: "512 MiB", limit: 512 * mib, want: 3504},
		{name: "a small limit keeps a floor", limit: 64 * mib, want: 200},
		{name: "a large limit stops at the SDK's default", limit: 8 << 30, want: 10_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := kycworker.StickyCacheSizeFor(tt.limit)
			assert.Equal(t, tt.want, got)
			if tt.limit > 0 {
				// The cache at the measured 64 KiB each and the 37 MiB
				// base fit in the limit with room to spare.
				assert.Less(t, 37*mib+int64(got)*64<<10, tt.limit*3/4+int64(200*64<<10))
			}
		})
	}
}

func TestParseCgroupMemoryLimit(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "max\n", want: 0},
		{in: "536870912\n", want: 536870912},
		{in: "9223372036854771712\n", want: 0}, // cgroup v1's "no limit"
		{in: "lots", wantErr: true},
		{in: "-1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := kycworker.ParseCgroupMemoryLimit(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
