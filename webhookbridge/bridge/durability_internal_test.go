package bridge

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/redisconn"
)

// A Redis without persistence is an ERROR in production and a warning in
// development (KYCFLOW_DEV): a first `make dev` on a plain local Redis
// shows no ERROR.
func TestRedisDurabilityIsAWarningInDevelopment(t *testing.T) {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("needs redis-server on PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	cmd := exec.Command(server, "--port", port, "--bind", "127.0.0.1", "--dir", t.TempDir(), "--daemonize", "no",
		"--appendonly", "no", "--save", "")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rdb, err := redisconn.New("redis://127.0.0.1:" + port + "/0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	require.Eventually(t, func() bool { return rdb.Ping(context.Background()).Err() == nil }, 10*time.Second, 50*time.Millisecond)

	for _, dev := range []bool{false, true} {
		var logs bytes.Buffer
		b := &Bridge{RDB: rdb, DevRedis: dev, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		b.warnIfRedisForgets(context.Background())
		if dev {
			assert.NotContains(t, logs.String(), "level=ERROR", "development")
			assert.Contains(t, logs.String(), "persistence is off")
		} else {
			assert.Contains(t, logs.String(), "level=ERROR msg=\"REDIS MAY LOSE ACKNOWLEDGED WEBHOOKS: persistence is off", "production")
		}
	}
}
