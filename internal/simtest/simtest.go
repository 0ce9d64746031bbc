// Package simtest starts the Mangopay simulator for tests: in-process, over
// real HTTP on loopback, with a typed client pointed at it, and builds the
// OWNER users the tests onboard.
package simtest

import (
	"crypto/rand"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// Sim is a running simulator.
type Sim struct {
	*sandbox.Sandbox
	URL    string // its base URL (API, hosted pages, control API)
	Client *mangopay.Client
}

// FastSettings make outcomes and KYC processing land as soon as the
// simulator's scheduler runs, and lift the rate limits, so tests drive time
// themselves.
func FastSettings() sandbox.Settings {
	set := sandbox.DefaultSettings()
	set.OutcomeDelaySeconds, set.KycProcessingDelaySeconds = 0, 0
	set.RateLimitEnforced = false
	return set
}

// Start serves a simulator configured by cfg for the test's lifetime.
// PublicURL is set to the server's URL; a zero Seed becomes a random one, so
// that ids (and the Redis keys derived from them) differ between runs
// sharing a Redis; a zero APIKey is the development key.
func Start(t testing.TB, cfg sandbox.Config) *Sim {
	t.Helper()
	if cfg.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	if cfg.APIKey == "" {
		cfg.APIKey = sandbox.DefaultAPIKey
	}
	// The handler is set once the simulator knows its own URL.
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	cfg.PublicURL = srv.URL
	sim := sandbox.New(cfg)
	h = sim.Handler()
	t.Cleanup(func() { srv.Close(); sim.Close() })
	c, err := mangopay.New(mangopay.Config{BaseURL: srv.URL, ClientID: sim.ClientID(), APIKey: cfg.APIKey})
	if err != nil {
		t.Fatalf("simtest: client: %v", err)
	}
	return &Sim{Sandbox: sim, URL: srv.URL, Client: c}
}

// Birthday of the test users (Unix seconds).
const Birthday = 652117514

// NaturalOwner is a natural OWNER that bypasses SCA (its email holds
// "accept", the Sandbox rule).
func NaturalOwner() *mangopay.CreateNaturalUserParams {
	b := mangopay.Timestamp(Birthday)
	return &mangopay.CreateNaturalUserParams{
		FirstName: "Alex", LastName: "Smith", Email: "alex+accept@example.com", UserCategory: mangopay.UserCategoryOwner,
		TermsAndConditionsAccepted: true, Birthday: &b, Nationality: "FR", CountryOfResidence: "FR",
	}
}

// NaturalPayer is a natural PAYER, whom Mangopay will not verify.
func NaturalPayer() *mangopay.CreateNaturalUserParams {
	return &mangopay.CreateNaturalUserParams{
		FirstName: "Alex", LastName: "Smith", Email: "alex+accept@example.com", UserCategory: mangopay.UserCategoryPayer,
	}
}

// LegalOwner is a legal OWNER of the given type whose representative
// bypasses SCA.
func LegalOwner(kind mangopay.LegalPersonType) *mangopay.CreateLegalUserParams {
	b := mangopay.Timestamp(Birthday)
	return &mangopay.CreateLegalUserParams{
		Name: "Alex Smith Services", LegalPersonType: kind, Email: "contact@example.com",
		UserCategory: mangopay.UserCategoryOwner, TermsAndConditionsAccepted: true, CompanyNumber: "123456789",
		LegalRepresentative: &mangopay.LegalRepresentative{
			FirstName: "Alex", LastName: "Smith", Birthday: &b, Nationality: "FR", CountryOfResidence: "FR",
			Email: "alex+accept@example.com",
		},
		HeadquartersAddress: &mangopay.Address{AddressLine1: "3 rue de la Cité", City: "Paris", PostalCode: "75004", Country: "FR"},
	}
}
