package kycworker

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// The sticky cache's default, from the measured fleet-size profiles
// (docs/measurements/2026-11-29-fleet-profiles.md, 2026-12-06-fleet-profiles.md
// and 2026-12-07-budget-defaults-stages.md): a worker is 37 MiB with nothing
// open (2026-11-29), and each cached workflow adds about 64 KiB of RSS (heap
// and its goroutine's stack, 2026-11-29); an open onboarding that is not
// cached adds about 0.4 KiB (126.9 MiB at 5,000, 128.9 at 10,000 on
// 2026-12-06, the longest run; the 1.3 KiB of 2026-11-29 was a 2,000 to 3,000
// slope). Evicting one costs its next event a replay: 2.8 ms more worker CPU
// at the default cache with 1,500 open (2026-12-07), 4.2 ms and 14 ms more at
// the median at 10,000 open (2026-12-06). Onboardings spend nearly all their
// life waiting for the user, so the cache only needs to hold the ones active
// now.
const (
	// DefaultStickyCacheSize is the cache without a memory limit to size it
	// from: 10,000 open onboardings measured 128.9 MiB with it, within the
	// 300 MB goal; it holds every onboarding active within a minute at the
	// measured signup rate (16.6/s).
	DefaultStickyCacheSize = 1000
	// minStickyCacheSize keeps a small limit from turning every event into a
	// replay.
	minStickyCacheSize = 200
	// cachedWorkflowBytes and workerBaseBytes are the measured costs.
	cachedWorkflowBytes = 64 << 10
	workerBaseBytes     = 37 << 20
	// cacheShareOfLimit is the share of the memory limit the cache may take,
	// the rest left to the base, bursts of activity and the collector's
	// headroom.
	cacheShareOfLimit = 0.5
)

// StickyCacheSizeFor returns the sticky cache a worker whose memory is
// limited to limit bytes defaults to (limit ≤ 0: none known): half the limit
// beyond the worker's base, at the measured cost of a cached workflow,
// within [200, the SDK's 10,000]; without a limit DefaultStickyCacheSize.
func StickyCacheSizeFor(limit int64) int {
	if limit <= 0 {
		return DefaultStickyCacheSize
	}
	n := (float64(limit)*cacheShareOfLimit - workerBaseBytes) / cachedWorkflowBytes
	return int(math.Max(minStickyCacheSize, math.Min(n, 10_000)))
}

// MemoryLimit returns the process's memory limit in bytes: the lower of the
// Go runtime's (GOMEMLIMIT, as the runtime read it) and the cgroup's
// (memory.max, cgroup v2, or memory.limit_in_bytes, v1); 0 when there is
// none.
func MemoryLimit() int64 {
	limit := int64(0)
	if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
		limit = l
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if l, err := ParseCgroupMemoryLimit(string(b)); err == nil && l > 0 && (limit == 0 || l < limit) {
			limit = l
		}
		break
	}
	return limit
}

// noCgroupLimit is above any real limit: cgroup v1 reports "no limit" as a
// page-rounded MaxInt64.
const noCgroupLimit = 1 << 62

// ParseCgroupMemoryLimit reads a cgroup memory limit file's content: bytes,
// or "max" (v2) or a huge value (v1) for none (0).
func ParseCgroupMemoryLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup memory limit %q: %w", s, err)
	}
	if n < 0 {
		return 0, errors.New("cgroup memory limit is negative")
	}
	if n >= noCgroupLimit {
		return 0, nil
	}
	return n, nil
}
