// Package redisconn opens kycflow's Redis clients. Every process (the
// bridge, the worker, the dev stack, the tests) connects the same way, so
// that what one is tested with is what runs.
package redisconn

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"
)

// New connects to the Redis at rawURL (REDIS_URL) with context deadlines
// honoured: go-redis ignores them by default and waits out its own 5 s read
// timeout, so a Redis that hangs would hold a webhook's answer past
// Mangopay's 2 s, and an activity past its own timeout. The URL's options
// (pool_size, read_timeout, ...) apply otherwise. The client does not dial
// until its first command.
func New(rawURL string) (*redis.Client, error) {
	opts, err := Options(rawURL)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opts), nil
}

// Options are the client options New uses.
func Options(rawURL string) (*redis.Options, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, urlError(err)
	}
	opts.ContextTimeoutEnabled = true
	return opts, nil
}

// CheckURL rejects what New rejects, without quoting the URL: it may carry
// a password.
func CheckURL(rawURL string) error {
	_, err := Options(rawURL)
	return err
}

func urlError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New("REDIS_URL is not a valid URL (redis://[:password@]host:port/db or rediss://...)")
	}
	return fmt.Errorf("REDIS_URL is not a valid redis:// or rediss:// URL: %w", err)
}
