package sandbox

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// idemKeyRe is Mangopay's format for Idempotency-Key values.
var idemKeyRe = regexp.MustCompile(`^[A-Za-z0-9-]{16,36}$`)

// idemWindow is how long a key blocks reuse and its response can be read back.
const idemWindow = 24 * time.Hour

// idemPruneAt is the number of remembered keys past which expired ones are
// dropped, so long runs stay in bounded memory.
const idemPruneAt = 10_000

// idemEntry remembers the first call made with a key.
type idemEntry struct {
	at       time.Time
	done     bool // false while the first call is still running
	status   int
	ctype    string
	body     []byte
	url      string
	finished time.Time
}

// idempotent runs a POST handler under Mangopay's idempotency rules: a key
// may be used once per 24 hours, whatever the outcome of that first call; a
// reuse gets 409 idempotent_creation_conflict and the original response stays
// readable at GET /responses/{key}.
func (s *Sandbox) idempotent(req apiRequest, h apiFunc) reply {
	key := req.r.Header.Get("Idempotency-Key")
	if key == "" {
		return h(req)
	}
	if !idemKeyRe.MatchString(key) {
		return s.paramError(map[string]string{"Idempotency-Key": "The Idempotency-Key must be 16 to 36 characters of A-Z, a-z, 0-9 and '-'."})
	}
	now := s.clock.Now()
	s.mu.Lock()
	if e, seen := s.st.idem[key]; seen && now.Sub(e.at) < idemWindow {
		s.mu.Unlock()
		return s.errorReply(http.StatusConflict, typeIdemConflict, "A resource has already been created with this Idempotency Key", nil)
	}
	if len(s.st.idem) >= idemPruneAt {
		for k, old := range s.st.idem {
			if old.done && now.Sub(old.at) >= idemWindow {
				delete(s.st.idem, k)
			}
		}
	}
	e := &idemEntry{at: now, url: s.cfg.PublicURL + req.r.URL.RequestURI()}
	s.st.idem[key] = e
	s.mu.Unlock()

	rp := h(req)
	body := rp.encode()
	ct := rp.contentType
	if ct == "" && body != nil {
		ct = "application/json; charset=utf-8"
	}
	s.mu.Lock()
	e.done, e.status, e.ctype, e.body, e.finished = true, rp.status, ct, body, s.clock.Now()
	s.mu.Unlock()
	return rp
}

// idemResponse is the envelope of GET /responses/{key}. StatusCode and
// ContentLength are strings on the wire.
type idemResponse struct {
	StatusCode    string          `json:"StatusCode"`
	ContentLength string          `json:"ContentLength"`
	ContentType   string          `json:"ContentType"`
	Date          string          `json:"Date"`
	RequestURL    string          `json:"RequestURL"`
	Resource      json.RawMessage `json:"Resource"`
}

func (s *Sandbox) getResponse(req apiRequest) reply {
	key := req.p["key"]
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, found := s.st.idem[key]
	if !found || !e.done || now.Sub(e.at) >= idemWindow {
		return s.notFound("ApiResponse", key)
	}
	res := json.RawMessage("null")
	if len(e.body) > 0 {
		res = e.body
	}
	return ok(idemResponse{
		StatusCode: strconv.Itoa(e.status), ContentLength: strconv.Itoa(len(e.body)), ContentType: e.ctype,
		Date: e.finished.UTC().Format(http.TimeFormat), RequestURL: e.url, Resource: res,
	})
}
