// Package redistest gives tests a Redis client: the server named by REDIS_URL
// when that variable is set, an in-process miniredis otherwise.
//
// A real Redis is shared with other packages whose tests run at the same
// time, so tests must never FLUSHDB or FLUSHALL: they write under unique ids
// (see Unique) and leave the rest of the keyspace alone.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// EnvURL is the variable that points the tests at a real Redis, for example
// redis://127.0.0.1:6379/0.
const EnvURL = "REDIS_URL"

// pingTimeout bounds the reachability check of a real Redis.
const pingTimeout = 5 * time.Second

// New returns a client for the test. With REDIS_URL set it connects there
// and fails the test when the URL is malformed or the server does not answer
// a PING: a configured Redis that is down is an error, never a reason to fall
// back silently. Without REDIS_URL it starts a miniredis that lives as long
// as the test. The client is closed when the test ends.
func New(t testing.TB) *redis.Client {
	t.Helper()
	if url := os.Getenv(EnvURL); url != "" {
		opts, err := redis.ParseURL(url)
		if err != nil {
			// The URL may hold a password: report the parse error only.
			t.Fatalf("redistest: %s is set but cannot be parsed: %v", EnvURL, err)
		}
		rdb := redis.NewClient(opts)
		t.Cleanup(func() { _ = rdb.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		defer cancel()
		if err := rdb.Ping(ctx).Err(); err != nil {
			t.Fatalf("redistest: %s is set but Redis at %s is unreachable: %v", EnvURL, opts.Addr, err)
		}
		return rdb
	}
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Unreachable returns a client pointed at a loopback port where nothing
// listens, with command and dial retries off, so every command fails at once
// with a dial error. Tests use it to check how code behaves when Redis is down.
func Unreachable(t testing.TB) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: reserve a port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("redistest: release port %s: %v", addr, err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Unique returns an id no other test run uses: the test's name, made safe
// for Redis keys and URLs, and 8 random bytes in hex. Use it for resource
// ids and key suffixes so that concurrent runs against one Redis never meet.
func Unique(t testing.TB) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("redistest: random id: %v", err)
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		default:
			return '_'
		}
	}, t.Name())
	return name + "-" + hex.EncodeToString(b[:])
}

// LocalURL is the machine's own Redis, which tests that start a whole stack
// use when REDIS_URL is unset and it answers.
const LocalURL = "redis://127.0.0.1:6379/0"

// BaseURL is REDIS_URL, else LocalURL when a Redis answers there, else ""
// (the caller starts an embedded one).
func BaseURL() string {
	if raw := os.Getenv(EnvURL); raw != "" {
		return raw
	}
	opt, err := redis.ParseURL(LocalURL)
	if err != nil {
		return ""
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if rdb.Ping(ctx).Err() != nil {
		return ""
	}
	return LocalURL
}
