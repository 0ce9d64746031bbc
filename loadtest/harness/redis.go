package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisServer is the redis-server binary the harness runs.
const DefaultRedisServer = "/usr/bin/redis-server"

// newRedisServer is the harness's own Redis: a redis-server on a free
// loopback port, its data in dir, with the append-only file on, as a
// production Redis holding the bridge's stream must run. The machine's
// Redis keeps nothing on disk, so a restart of it would lose the stream,
// which no deployment of kycflow accepts; the redis-restart fault restarts
// this one on the same port and folder.
func newRedisServer(bin, dir, logPath string) (*proc, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("redis data folder: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("redis address: %w", err)
	}
	url := "redis://" + addr + "/0"
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, "", fmt.Errorf("redis URL: %w", err)
	}
	p := &proc{
		name: "redis", path: bin, logPath: logPath,
		args: []string{
			"--port", port, "--bind", "127.0.0.1", "--protected-mode", "yes", "--daemonize", "no",
			"--dir", dir, "--save", "", "--appendonly", "yes",
			// The bridge answers Mangopay 200 once its XADD is
			// acknowledged, and Mangopay does not send that webhook
			// again: an acknowledged write must survive a kill. With
			// everysec, Redis may postpone the write(2) of the AOF buffer
			// by up to 2 s while a background fsync is slow (a busy
			// shared disk) and reply first, so a SIGKILL then loses
			// acknowledged writes. With always, the buffer is written and
			// fsynced before any reply of that event-loop turn (one fsync
			// for all of its commands), which also survives a machine
			// crash, at a cost the harness's rates do not notice.
			"--appendfsync", "always",
		},
		probe: func(ctx context.Context) error {
			// A plain dial first: go-redis would log each refused one.
			conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			_ = conn.Close()
			// A Redis still loading its AOF answers LOADING to PING.
			c := redis.NewClient(opts)
			defer c.Close()
			return c.Ping(ctx).Err()
		},
	}
	return p, url, nil
}
