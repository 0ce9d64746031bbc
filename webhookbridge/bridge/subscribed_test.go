package bridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/workflows"
)

// TestEverySubscribedTypeRoutesToItsUser walks every event type kycflow
// subscribes to through the bridge's routing: each names a resource the
// routing index (or the user ID itself) resolves to the user. A subscribed
// type the bridge cannot route fails here; the workflow's side is
// TestEverySubscribedTypeIsRoutedAndHandled.
func TestEverySubscribedTypeRoutesToItsUser(t *testing.T) {
	rdb := newRedis(t)
	ctx := context.Background()
	ix := routing.NewIndex(rdb, 0)
	const user = "user_m_walk"
	ids := map[mangopay.Resource]string{
		mangopay.ResourceUser:        user,
		mangopay.ResourceIDVSession:  "idnver_walk",
		mangopay.ResourceKYCDocument: "kycdoc_walk",
	}
	require.NoError(t, ix.Put(ctx, routing.KindSession, ids[mangopay.ResourceIDVSession], user))
	require.NoError(t, ix.Put(ctx, routing.KindDocument, ids[mangopay.ResourceKYCDocument], user))
	require.NoError(t, ix.Put(ctx, routing.KindPSC, "psc_x_walk", user))
	r := &bridge.Resolver{Index: ix}
	date := time.Now().Unix()
	for _, et := range workflows.HookEventTypes {
		t.Run(string(et), func(t *testing.T) {
			rid, ok := ids[et.Resource()]
			require.True(t, ok, "kycflow subscribes to %s but the bridge does not route it", et)
			got, err := r.UserFor(ctx, ev(string(et), rid, date))
			require.NoError(t, err)
			assert.Equal(t, user, got)
			if et.Topic() == mangopay.TopicPSC {
				got, err := r.UserFor(ctx, ev(string(et), "psc_x_walk", date))
				require.NoError(t, err, "a PSC webhook may name the PSC session")
				assert.Equal(t, user, got)
			}
		})
	}
}
