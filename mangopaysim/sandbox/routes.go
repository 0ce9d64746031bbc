package sandbox

import "net/http"

// routes registers the API paths (after /v2.01/{ClientId}) and the control
// API paths.
func (s *Sandbox) routes() {
	a := &s.api
	a.add(http.MethodPost, "/users/natural", s.createNaturalUser(false))
	a.add(http.MethodPost, "/users/legal", s.createLegalUser(false))
	a.add(http.MethodPost, "/sca/users/natural", s.createNaturalUser(true))
	a.add(http.MethodPost, "/sca/users/legal", s.createLegalUser(true))
	a.add(http.MethodGet, "/users", s.listUsers)
	a.add(http.MethodGet, "/users/{userId}", s.getUser(false, ""))
	a.add(http.MethodGet, "/sca/users/{userId}", s.getUser(true, ""))
	// The SDKs' typed getters.
	a.add(http.MethodGet, "/users/natural/{userId}", s.getUser(false, "NATURAL"))
	a.add(http.MethodGet, "/users/legal/{userId}", s.getUser(false, "LEGAL"))
	a.add(http.MethodGet, "/sca/users/natural/{userId}", s.getUser(true, "NATURAL"))
	a.add(http.MethodGet, "/sca/users/legal/{userId}", s.getUser(true, "LEGAL"))
	// Documented (and sent by every SDK) as /Regulatory; the router
	// matches literal segments case-insensitively, so /regulatory works too.
	a.add(http.MethodGet, "/users/{userId}/Regulatory", s.getRegulatory)

	a.add(http.MethodPost, "/users/{userId}/identity-verifications", s.createSession)
	a.add(http.MethodGet, "/users/{userId}/identity-verifications", s.listSessions)
	a.add(http.MethodGet, "/identity-verifications/{id}", s.getSession)
	a.add(http.MethodPut, "/identity-verifications/{id}/pscs/{pscId}/retry", s.retryPsc)
	a.add(http.MethodGet, "/users/{userId}/pscs", s.listUserPscs)

	a.add(http.MethodPost, "/users/{userId}/kyc/documents", s.createDoc)
	a.add(http.MethodGet, "/users/{userId}/kyc/documents", s.listDocs)
	a.add(http.MethodPost, "/users/{userId}/kyc/documents/{docId}/pages", s.addPage)
	a.add(http.MethodPut, "/users/{userId}/kyc/documents/{docId}", s.submitDoc)
	a.add(http.MethodGet, "/users/{userId}/kyc/documents/{docId}", s.getUserDoc)
	a.add(http.MethodGet, "/kyc/documents/{docId}", s.getDoc)
	a.add(http.MethodGet, "/kyc/documents", s.listDocs)

	a.add(http.MethodPost, "/hooks", s.createHook)
	a.add(http.MethodGet, "/hooks", s.listHooks)
	a.add(http.MethodGet, "/hooks/{hookId}", s.getHook)
	a.add(http.MethodPut, "/hooks/{hookId}", s.updateHook)

	a.add(http.MethodGet, "/events", s.listEvents)
	a.add(http.MethodGet, "/responses/{key}", s.getResponse)

	c := &s.ctl
	c.add(http.MethodPost, "/_sim/identity-verifications/{id}/outcome", s.ctlOutcome)
	c.add(http.MethodPost, "/_sim/identity-verifications/{id}/review", s.ctlReview)
	c.add(http.MethodPost, "/_sim/identity-verifications/{id}/expire", s.ctlExpire)
	c.add(http.MethodPost, "/_sim/users/{userId}/downgrade", s.ctlDowngrade)
	c.add(http.MethodPost, "/_sim/users/{userId}/renewal", s.ctlRenewal)
	c.add(http.MethodPost, "/_sim/users/{userId}/blocks", s.ctlBlocks)
	c.add(http.MethodPut, "/_sim/users/{userId}/pscs", s.ctlDeclarePscs)
	c.add(http.MethodPost, "/_sim/pscs/{pscId}/outcome", s.ctlPscOutcome)
	c.add(http.MethodPost, "/_sim/pscs/{pscId}/liveness", s.ctlPscLiveness)
	c.add(http.MethodPost, "/_sim/clock/advance", s.ctlAdvance)
	c.add(http.MethodGet, "/_sim/clock", s.ctlClock)
	c.add(http.MethodPut, "/_sim/faults", s.ctlSetFaults)
	c.add(http.MethodGet, "/_sim/faults", s.ctlGetFaults)
	c.add(http.MethodPut, "/_sim/settings", s.ctlSetSettings)
	c.add(http.MethodGet, "/_sim/settings", s.ctlGetSettings)
	c.add(http.MethodGet, "/_sim/webhooks", s.ctlWebhooks)
	c.add(http.MethodGet, "/_sim/calls", s.ctlCalls)
	c.add(http.MethodGet, "/_sim/calls/log", s.ctlCallLog)
	c.add(http.MethodPost, "/_sim/reset", s.ctlReset)
}
