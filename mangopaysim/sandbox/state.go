package sandbox

import "time"

// state is everything the Sandbox knows. It is guarded by Sandbox.mu.
type state struct {
	tokens map[string]time.Time // access token -> expiry (simulated time)

	users         map[string]*user
	sessions      map[string]*session
	sessionsByKey map[string]*session // HostedUrl sessionId -> session
	userSessions  map[string][]*session
	pscs          map[string]*psc
	pscsByKey     map[string]*psc // HostedUrl sessionId -> PSC
	userPscs      map[string][]*psc
	docs          map[string]*kycDoc
	userDocs      map[string][]*kycDoc
	hooks         map[string]*hook
	hookByEvent   map[string]*hook
	hookOrder     []*hook
	events        []Event
	idem          map[string]*idemEntry
	scaTokens     map[string]string // SCA link token -> user id
	deliveries    []Delivery
	deliverySeq   int
}

func newState() *state {
	return &state{
		tokens:        map[string]time.Time{},
		users:         map[string]*user{},
		sessions:      map[string]*session{},
		sessionsByKey: map[string]*session{},
		userSessions:  map[string][]*session{},
		pscs:          map[string]*psc{},
		pscsByKey:     map[string]*psc{},
		userPscs:      map[string][]*psc{},
		docs:          map[string]*kycDoc{},
		userDocs:      map[string][]*kycDoc{},
		hooks:         map[string]*hook{},
		hookByEvent:   map[string]*hook{},
		idem:          map[string]*idemEntry{},
		scaTokens:     map[string]string{},
	}
}

// maxDeliveryLog bounds the webhook delivery log kept for /_sim/webhooks.
const maxDeliveryLog = 10_000

func (st *state) putToken(tok string, exp time.Time) {
	if len(st.tokens) > 10_000 {
		for t, e := range st.tokens {
			if e.Before(exp) {
				delete(st.tokens, t)
			}
		}
	}
	st.tokens[tok] = exp
}

func (st *state) tokenValid(tok string, now time.Time) bool {
	exp, ok := st.tokens[tok]
	return ok && now.Before(exp)
}
