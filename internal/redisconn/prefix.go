package redisconn

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// DefaultKeyPrefix is the first segment of kycflow's Redis keys
// (REDIS_KEY_PREFIX): the names the packages declare ("kycflow:webhooks",
// "kycflow:route:...", ...), unchanged.
const DefaultKeyPrefix = "kycflow"

// sharedKeys are kycflow keys that stay the same in every deployment: the
// Mangopay call budget is one per Mangopay account, whoever spends it.
var sharedKeys = []string{"kycflow:mangopay-budget:"}

// NewPrefixed is New for a deployment whose keys start with prefix instead
// of "kycflow", so that two deployments sharing a Redis (or make dev
// pointed at a shared one) never read each other's webhook stream, join
// each other's consumer group or acknowledge each other's webhooks.
//
// The packages keep declaring their keys as "kycflow:..." constants (the
// references workflows store, such as a page's claim key, stay the same in
// every deployment); the client renames them on the wire: every argument
// of every command, pipeline and script that starts with "kycflow:" is
// sent as "<prefix>:...". Values that name keys (a dedupe key kept in a
// hash, a script's key prefix in ARGV) are renamed the same way, so they
// stay consistent.
func NewPrefixed(rawURL, prefix string) (*redis.Client, error) {
	rdb, err := New(rawURL)
	if err != nil || prefix == "" || prefix == DefaultKeyPrefix {
		return rdb, err
	}
	rdb.AddHook(keyPrefix(prefix + ":"))
	return rdb, nil
}

// keyPrefix is the renaming hook: the replacement of "kycflow:".
type keyPrefix string

func (p keyPrefix) DialHook(next redis.DialHook) redis.DialHook { return next }

func (p keyPrefix) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		p.rename(cmd)
		return next(ctx, cmd)
	}
}

func (p keyPrefix) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			p.rename(cmd)
		}
		return next(ctx, cmds)
	}
}

// rename rewrites cmd's arguments in place (the command name excluded).
func (p keyPrefix) rename(cmd redis.Cmder) {
	args := cmd.Args()
	for i := 1; i < len(args); i++ {
		if s, ok := args[i].(string); ok && strings.HasPrefix(s, "kycflow:") && !shared(s) {
			args[i] = string(p) + s[len("kycflow:"):]
		}
	}
}

func shared(key string) bool {
	for _, k := range sharedKeys {
		if strings.HasPrefix(key, k) {
			return true
		}
	}
	return false
}
