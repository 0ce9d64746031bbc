package callbudget

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/kycflow/kycflow/mangopay"
)

// NewClient is the one constructor of every process's Mangopay client: it
// reads the client's settings (mangopay.ConfigFromEnv) and the budget's
// (ConfigFromEnv) through getenv, and returns a client whose every call draws
// from the budget shared in rdb. configure, when not nil, adjusts the
// client's Config (a logger, an Observe function) before it is built; reg,
// when not nil, gets the budget's metrics.
func NewClient(getenv func(string) string, rdb redis.UniversalClient, reg prometheus.Registerer, configure func(*mangopay.Config)) (*mangopay.Client, *Limiter, error) {
	mc, err := mangopay.ConfigFromEnv(getenv)
	if err != nil {
		return nil, nil, err
	}
	bc, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, nil, err
	}
	var m *Metrics
	if reg != nil {
		if m, err = NewMetrics(reg); err != nil {
			return nil, nil, fmt.Errorf("mangopay call budget metrics: %w", err)
		}
	}
	lim, err := New(rdb, mc.ClientID, bc, m)
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
