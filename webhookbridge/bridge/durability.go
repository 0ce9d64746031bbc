package bridge

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// CheckRedisDurability reports, in words an operator can act on, how the
// Redis at rdb could lose webhooks the intake has acknowledged to Mangopay:
// no persistence (a restart loses the backlog), snapshots only (a crash
// loses the last minutes), an append-only file the OS flushes when it likes
// (appendfsync no: a host crash loses up to 30 s), or an eviction policy
// other than noeviction
// (Redis drops keys under memory pressure instead of refusing writes,
// which the intake turns into a 503 that Mangopay retries). It returns an
// error only when Redis cannot be asked at all.
func CheckRedisDurability(ctx context.Context, rdb redis.UniversalClient) ([]string, error) {
	persistence, err := info(ctx, rdb, "persistence")
	if err != nil {
		return nil, err
	}
	memory, err := info(ctx, rdb, "memory")
	if err != nil {
		return nil, err
	}
	var problems []string
	if persistence["aof_enabled"] == "1" {
		// CONFIG may be disabled (managed Redis): then the provider's
		// setting stands, and the docs say what to ask for.
		if fsync, err := rdb.ConfigGet(ctx, "appendfsync").Result(); err == nil && strings.EqualFold(fsync["appendfsync"], "no") {
			problems = append(problems, "appendfsync no: a host crash loses up to 30 s of acknowledged webhooks; docs/operations.md recommends appendfsync everysec "+
				"(at most 1 s lost) or always (none, at the cost of a disk sync per webhook)")
		}
	}
	if persistence["aof_enabled"] != "1" {
		// CONFIG may be disabled (managed Redis); then say what is known.
		save, cerr := rdb.ConfigGet(ctx, "save").Result()
		switch {
		case cerr != nil:
			problems = append(problems, "append-only file is off and the snapshot settings cannot be read (CONFIG GET save: "+cerr.Error()+
				"): unless snapshots are on, a Redis restart loses every webhook not yet forwarded; set appendonly yes")
		case strings.TrimSpace(save["save"]) == "":
			problems = append(problems, "persistence is off (appendonly no, no save points): a Redis restart loses every webhook not yet forwarded; set appendonly yes")
		default:
			problems = append(problems, "only snapshots (save "+save["save"]+"): a Redis crash loses the webhooks accepted since the last one; set appendonly yes")
		}
	}
	if p := memory["maxmemory_policy"]; p != "noeviction" {
		problems = append(problems, fmt.Sprintf("maxmemory-policy is %q: under memory pressure Redis evicts stored webhooks and dedupe keys; set maxmemory-policy noeviction", p))
	}
	return problems, nil
}

// info reads one section of INFO as a map.
func info(ctx context.Context, rdb redis.UniversalClient, section string) (map[string]string, error) {
	raw, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return nil, fmt.Errorf("redis INFO %s: %w", section, err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(raw))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			out[k] = v
		}
	}
	return out, nil
}

// warnIfRedisForgets logs, at error level, every way the Redis can lose
// acknowledged webhooks. It runs at startup and never stops the bridge. A
// development Redis (DevRedis) need not be durable: there it is a warning,
// so that a first `make dev` shows no ERROR.
func (b *Bridge) warnIfRedisForgets(ctx context.Context) {
	problems, err := CheckRedisDurability(ctx, b.RDB)
	if err != nil {
		b.Logger.Warn("cannot check that Redis keeps the webhooks it accepts", "error", err)
		return
	}
	for _, p := range problems {
		if b.DevRedis {
			b.Logger.Warn("development Redis: it may lose acknowledged webhooks (fine in development; in production: " + p + ")")
			continue
		}
		b.Logger.Error("REDIS MAY LOSE ACKNOWLEDGED WEBHOOKS: " + p)
	}
}
