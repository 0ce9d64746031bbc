package workflows_test

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/workflows"
)

var (
	validated    = map[string]sandbox.Choice{}
	faceMismatch = map[string]sandbox.Choice{sandbox.CheckIdentityDocument: {Status: "REFUSED", Reason: "FACE_MATCH_FAIL"}}
	falsified    = map[string]sandbox.Choice{sandbox.CheckIdentityDocument: {Status: "REFUSED", Reason: "DOCUMENT_FALSIFIED"}}
	businessKO   = map[string]sandbox.Choice{sandbox.CheckBusiness: {Status: "REFUSED"}}
)

func TestNaturalHappyPath(t *testing.T) {
	h := newHarness(t, "NATURAL")
	ensured := h.ensure(0, workflows.EnsureSessionRequest{ReturnURL: returnURL})
	var during workflows.StateView
	h.at(time.Minute, func() {
		during = h.state()
		h.decide(validated)
		h.deliver() // IDENTITY_VERIFICATION_VALIDATED
	})
	var after workflows.StateView
	var calls, actions int
	h.at(2*time.Minute, func() { after, calls, actions = h.state(), h.mangopayCalls(), h.actions() })
	h.cancel(3 * time.Minute)
	h.run(workflows.Config{})

	require.True(t, ensured.done)
	require.NoError(t, ensured.err)
	got := ensured.value
	assert.Equal(t, workflows.StatusAwaitingUser, got.Status)
	assert.Equal(t, 1, got.Attempt)
	assert.Contains(t, got.HostedURL, "/idv/")
	assert.NotEmpty(t, got.IdvSessionID)
	_, err := time.Parse(time.RFC3339, got.ExpiresAt)
	assert.NoError(t, err, "ExpiresAt is RFC 3339")

	assert.Equal(t, workflows.StatusAwaitingUser, during.Status)
	assert.Equal(t, workflows.StatusVerified, after.Status)
	assert.Equal(t, "NATURAL", after.UserType)
	assert.Len(t, h.sessions(), 1)

	// Targets: at most 3 Mangopay calls and 13 billable actions (the 13th
	// is the USER_KYC_REGULAR signal: kycflow subscribes to it so that a
	// user verified by KYC documents alone is followed; on this path it
	// costs no read).
	t.Logf("happy path: %d Mangopay calls %v, %d actions (activities %v, %d timers, %d signals, %d updates, %d upserts)",
		calls, h.sim.APICalls(), actions, h.activities, h.timers, h.signals, h.updates, h.upserts)
	assert.LessOrEqual(t, calls, 3)
	assert.LessOrEqual(t, actions, 13)
	assert.Equal(t, []string{"onboarding.awaiting_user", "onboarding.verified", "onboarding.cancelled"}, h.platform.events())

	assert.Equal(t, map[string]any{
		"KycStatus": "CANCELLED", "MangopayUserId": h.userID, "IdvSessionId": got.IdvSessionID,
		"KycAttempt": int64(1), "KycUserType": "NATURAL",
	}, h.sa)
}

func TestHappyPathWithEncryptedPayloads(t *testing.T) {
	codec, err := payloadcodec.New([][]byte{bytes.Repeat([]byte{7}, 32)})
	require.NoError(t, err)
	h := newHarness(t, "NATURAL")
	rec := &recordingConverter{DataConverter: codec.DataConverter()}
	h.env.SetDataConverter(rec)
	ensured := h.ensure(0, workflows.EnsureSessionRequest{})
	h.at(time.Minute, func() { h.decide(validated); h.deliver() })
	var after workflows.StateView
	h.at(2*time.Minute, func() { after = h.state() })
	h.cancel(3 * time.Minute)
	h.run(workflows.Config{})
	require.NoError(t, ensured.err)
	assert.Equal(t, workflows.StatusAwaitingUser, ensured.value.Status)
	assert.Equal(t, workflows.StatusVerified, after.Status)

	// Every payload that reached Temporal (inputs, results, the state
	// query, update arguments) was encrypted: no user id, no HostedUrl in
	// the clear, and each marked with the codec's encoding.
	payloads := rec.all()
	require.Greater(t, len(payloads), 10, "the workflow's payloads went through the converter")
	for _, p := range payloads {
		assert.Equal(t, payloadcodec.MetadataEncoding, string(p.GetMetadata()["encoding"]), "payload not encrypted: %v", p)
		assert.NotContains(t, string(p.GetData()), h.userID)
		assert.NotContains(t, string(p.GetData()), "https://")
	}
}

// recordingConverter keeps every payload its data converter produced.
type recordingConverter struct {
	converter.DataConverter
	mu       sync.Mutex
	payloads []*commonpb.Payload
}

func (r *recordingConverter) ToPayload(v any) (*commonpb.Payload, error) {
	p, err := r.DataConverter.ToPayload(v)
	if err == nil && p != nil {
		r.mu.Lock()
		r.payloads = append(r.payloads, p)
		r.mu.Unlock()
	}
	return p, err
}

func (r *recordingConverter) ToPayloads(vs ...any) (*commonpb.Payloads, error) {
	ps, err := r.DataConverter.ToPayloads(vs...)
	if err == nil {
		r.mu.Lock()
		r.payloads = append(r.payloads, ps.GetPayloads()...)
		r.mu.Unlock()
	}
	return ps, err
}

func (r *recordingConverter) all() []*commonpb.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.payloads)
}
