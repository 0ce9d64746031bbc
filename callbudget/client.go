package callbudget

import (
	"github.com/redis/go-redis/v9"

	"github.com/kycflow/kycflow/mangopay"
)

// NewClient is the one constructor of every process's Mangopay client: it
// reads the client's settings (mangopay.ConfigFromEnv) and the budget's
// (ConfigFromEnv) through getenv, and returns a client whose every call draws
// from the budget of its ClientId in rdb. configure, when not nil, adjusts
// the client's Config (a logger, an Observe function) before it is built.
// Register the budget's metrics with Limiter.RegisterMetrics.
func NewClient(getenv func(string) string, rdb redis.UniversalClient, configure func(*mangopay.Config)) (*mangopay.Client, *Limiter, error) {
	mc, err := mangopay.ConfigFromEnv(getenv)
	if err != nil {
		return nil, nil, err
	}
	bc, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, nil, err
	}
	lim, err := New(rdb, mc.ClientID, bc)
	if err != nil {
		return nil, nil, err
	}
	if configure != nil {
		configure(&mc)
	}
	mc.Limiter = lim
	c, err := mangopay.New(mc)
	if err != nil {
		return nil, nil, err
	}
	return c, lim, nil
}
