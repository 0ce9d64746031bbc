package stack

import (
	"strconv"
	"time"
)

// RunKeyPrefix is the Redis key prefix of one run of the stack. An embedded
// Redis starts empty, so its prefix is the configured one. A Redis at
// REDIS_URL keeps what the previous run left (routing index, dedupe keys,
// dead letters, held streams, reconcile cursor): unless REDIS_KEY_PREFIX was
// set explicitly (explicit, to keep one across runs), each run gets a
// prefix of its own, the configured one and the start time, so that it
// starts clean as an embedded one does.
func RunKeyPrefix(redisURL, configured string, explicit bool, start time.Time) string {
	if redisURL == "" || explicit {
		return configured
	}
	if configured == "" {
		configured = "kycflow-dev"
	}
	return configured + "-" + strconv.FormatInt(start.Unix(), 10)
}
