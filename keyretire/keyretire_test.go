package keyretire_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/kycflow/kycflow/activities"
	"github.com/kycflow/kycflow/claimcheck"
	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/keyretire"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/workflows"
)

const returnURL = "https://platform.example/kyc/done"

// TestRetireAnOldKey rotates the payload key, retires the old one, and
// checks that every open onboarding still replays and answers on workers
// that hold only the new key, and that a document page sealed under the
// old key still opens. Without the retirement the onboardings' histories
// hold the old key and a worker without it can neither replay nor answer.
func TestRetireAnOldKey(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Temporal dev server: skipped in -short mode")
	}
	if _, err := devtemporal.CLIPath(); errors.Is(err, devtemporal.ErrNoCLI) {
		t.Skipf("needs a Temporal dev server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := devtemporal.Start(ctx, devtemporal.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	mp := startSim(t)
	rdb := newRedis(t)

	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	codec := func(keys ...[]byte) *payloadcodec.Codec {
		c, err := payloadcodec.New(keys)
		require.NoError(t, err)
		return c
	}
	// A deployment's processes, all on one key list.
	type deployment struct {
		c     client.Client
		w     worker.Worker
		pages *claimcheck.Store
	}
	deploy := func(cd *payloadcodec.Codec) deployment {
		c, err := client.NewClientFromExisting(srv.Client(), client.Options{DataConverter: cd.DataConverter(), FailureConverter: cd.FailureConverter()})
		require.NoError(t, err)
		pages := claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer(cd))
		w := worker.New(c, workflows.TaskQueue, worker.Options{})
		w.RegisterWorkflowWithOptions(workflows.KYCOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowType})
		w.RegisterActivity(&activities.Activities{Mangopay: mp, Index: routing.NewIndex(rdb, 0), Pages: pages, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, w.Start())
		return deployment{c: c, w: w, pages: pages}
	}

	// Before the rotation: onboardings opened and a page stored under the
	// old key.
	before := deploy(codec(oldKey))
	var users []string
	sessions := map[string]string{}
	for range 2 {
		userID := createUser(t, mp)
		res, err := workflows.EnsureSession(ctx, before.c, userID, workflows.EnsureSessionRequest{ReturnURL: returnURL})
		require.NoError(t, err)
		require.Equal(t, workflows.StatusAwaitingUser, res.Status)
		users, sessions[userID] = append(users, userID), res.IdvSessionID
	}
	page, err := before.pages.Put(ctx, []byte("%PDF-1.4 a page sealed under the old key"))
	require.NoError(t, err)
	before.w.Stop()

	// The rotation: the new key first, the old one kept; then retire it.
	both := codec(newKey, oldKey)
	during := deploy(both)
	res, err := keyretire.Run(ctx, keyretire.Input{Temporal: during.c, Codec: both, Pages: during.pages, Wait: 2 * time.Minute})
	require.NoError(t, err)
	assert.True(t, res.Done(), "nothing needs the old key: %+v", res)
	assert.Equal(t, 1, res.Pages.Resealed)
	assert.Len(t, res.Reencoded, len(users))
	again, err := keyretire.Run(ctx, keyretire.Input{Temporal: during.c, Codec: both, Pages: during.pages})
	require.NoError(t, err)
	assert.True(t, again.Done())
	assert.Empty(t, again.Reencoded, "a second run has nothing to do")
	assert.Zero(t, again.Pages.Resealed)
	during.w.Stop()

	// The old key dropped: fresh workers (nothing cached) replay every
	// open onboarding and answer.
	after := deploy(codec(newKey))
	t.Cleanup(after.w.Stop)
	for _, userID := range users {
		st, err := workflows.GetState(ctx, after.c, userID)
		require.NoError(t, err, "the onboarding of %s replays and answers its query", userID)
		assert.Equal(t, workflows.StatusAwaitingUser, st.Status)
		got, err := workflows.EnsureSession(ctx, after.c, userID, workflows.EnsureSessionRequest{ReturnURL: returnURL})
		require.NoError(t, err, "the onboarding of %s takes updates", userID)
		assert.Equal(t, sessions[userID], got.IdvSessionID, "the same session")
		_, err = workflows.Cancel(ctx, after.c, userID, workflows.CancelRequest{Reason: "test over"})
		require.NoError(t, err)
	}
	data, err := after.pages.Get(ctx, page)
	require.NoError(t, err)
	assert.Equal(t, "%PDF-1.4 a page sealed under the old key", string(data))
}

// newRedis is a Redis of the test's own: the real one under a key prefix
// no other run uses (the page store's scan then sees only this test's
// pages), or a miniredis.
func newRedis(t *testing.T) redis.UniversalClient {
	url := os.Getenv(redistest.EnvURL)
	if url == "" {
		return redistest.New(t)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	rdb, err := redisconn.NewPrefixed(url, "keyretire-"+hex.EncodeToString(b[:]))
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// startSim runs a simulator with instant outcomes and returns a client.
func startSim(t *testing.T) *mangopay.Client {
	set := sandbox.DefaultSettings()
	set.OutcomeDelaySeconds, set.RateLimitEnforced = 0, false
	var handler http.Handler
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	sim := sandbox.New(sandbox.Config{PublicURL: hs.URL, Settings: set, Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	handler = sim.Handler()
	t.Cleanup(func() { hs.Close(); sim.Close() })
	mp, err := mangopay.New(mangopay.Config{BaseURL: hs.URL, ClientID: sim.ClientID(), APIKey: sandbox.DefaultAPIKey, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return mp
}

// createUser makes a natural OWNER user at the simulator.
func createUser(t *testing.T, mp *mangopay.Client) string {
	birthday := mangopay.Timestamp(652117514)
	u, err := mp.CreateNaturalUserSCA(context.Background(), &mangopay.CreateNaturalUserParams{
		FirstName: "Alex", LastName: "Smith", Email: "alex+accept@example.com", UserCategory: mangopay.UserCategoryOwner,
		TermsAndConditionsAccepted: true, Birthday: &birthday, Nationality: "FR", CountryOfResidence: "FR",
	})
	require.NoError(t, err)
	return u.ID
}

// TestRetireKeyWaitsForClosedOnboardings: kycflow reads a closed onboarding
// within retention (GET state and timeline, the next signup), so retire-key
// is not Done while one holds a payload under the old key; with the old
// key kept (decrypt only) it still reads it.
func TestRetireKeyWaitsForClosedOnboardings(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Temporal dev server: skipped in -short mode")
	}
	if _, err := devtemporal.CLIPath(); errors.Is(err, devtemporal.ErrNoCLI) {
		t.Skipf("needs a Temporal dev server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := devtemporal.Start(ctx, devtemporal.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	mp := startSim(t)
	rdb := newRedis(t)
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	codec := func(keys ...[]byte) *payloadcodec.Codec {
		c, err := payloadcodec.New(keys)
		require.NoError(t, err)
		return c
	}
	deploy := func(cd *payloadcodec.Codec) (client.Client, worker.Worker) {
		c, err := client.NewClientFromExisting(srv.Client(), client.Options{DataConverter: cd.DataConverter(), FailureConverter: cd.FailureConverter()})
		require.NoError(t, err)
		w := worker.New(c, workflows.TaskQueue, worker.Options{})
		w.RegisterWorkflowWithOptions(workflows.KYCOnboarding, workflow.RegisterOptions{Name: workflows.WorkflowType})
		w.RegisterActivity(&activities.Activities{
			Mangopay: mp, Index: routing.NewIndex(rdb, 0), Pages: claimcheck.NewStore(rdb, 0, 0, claimcheck.WithSealer(cd)),
			Logger: slog.New(slog.DiscardHandler),
		})
		require.NoError(t, w.Start())
		return c, w
	}

	// Closed under the old key, before the rotation.
	bc, bw := deploy(codec(oldKey))
	userID := createUser(t, mp)
	_, err = workflows.EnsureSession(ctx, bc, userID, workflows.EnsureSessionRequest{ReturnURL: returnURL})
	require.NoError(t, err)
	_, err = workflows.Cancel(ctx, bc, userID, workflows.CancelRequest{Reason: "closed before the rotation"})
	require.NoError(t, err)
	require.NoError(t, bc.GetWorkflow(ctx, workflows.WorkflowID(userID), "").Get(ctx, nil))
	bw.Stop()

	both := codec(newKey, oldKey)
	dc, dw := deploy(both)
	t.Cleanup(dw.Stop)
	var res keyretire.Result
	// Visibility lists the closed run a moment after it closed.
	require.Eventually(t, func() bool {
		res, err = keyretire.Run(ctx, keyretire.Input{Temporal: dc, Codec: both})
		require.NoError(t, err)
		return len(res.Closed) > 0
	}, time.Minute, 200*time.Millisecond, "the closed onboarding under the old key is counted")
	assert.False(t, res.Done(), "not Done while a closed onboarding within retention needs the old key: %+v", res)
	assert.Equal(t, []string{workflows.WorkflowID(userID)}, res.Closed)
	assert.Empty(t, res.Left)

	// The old key kept (decrypt only): kycflow still reads it.
	st, err := workflows.GetState(ctx, dc, userID)
	require.NoError(t, err)
	assert.Equal(t, workflows.StatusCancelled, st.Status)
	_, err = workflows.GetTimeline(ctx, dc, userID)
	require.NoError(t, err)
}
