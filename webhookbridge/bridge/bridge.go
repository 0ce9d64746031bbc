package bridge

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/claimcheck"
)

// Bridge serves the public webhook intake and the platform's internal API.
type Bridge struct {
	Store    *Store
	RDB      redis.UniversalClient
	Temporal client.Client
	// Pages holds uploaded document pages; with no Sealer (no
	// PAYLOAD_ENCRYPTION_KEY) uploads are refused unless AllowClearPages.
	Pages   *claimcheck.Store
	Metrics *Metrics
	Logger  *slog.Logger
	// PathToken is the secret last segment of the webhook URL.
	PathToken string
	// APIToken is the platform API's bearer token.
	APIToken string
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []string
	// Codec, when set, is served at /codec/ on the internal listener so the
	// Temporal Web UI can show encrypted payloads (payloadcodec.Handler).
	Codec http.Handler
	// AllowClearPages accepts document uploads although Pages does not
	// encrypt them: ID documents would sit in clear in Redis, its AOF
	// files and backups, so only the development switch sets it.
	AllowClearPages bool
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

func (b *Bridge) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}
