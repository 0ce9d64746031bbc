package bridge

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kycflow/kycflow/webhookbridge/platformapi"
)

// TestShutdownOutlastsTheAPITimeout: a platform API call in flight when the
// bridge is stopped is answered (or times out on its own), not cut off by
// the shutdown.
func TestShutdownOutlastsTheAPITimeout(t *testing.T) {
	assert.Greater(t, shutdownTimeout, platformapi.Timeout)
	assert.Greater(t, forwarderStopTimeout, ackTimeout, "the forwarder has time to acknowledge")
	f := &Forwarder{}
	f.defaults()
	assert.Greater(t, f.ClaimIdle, MaxBackoff, "a bridge waiting out an outage keeps its entries")
}
