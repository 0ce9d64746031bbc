package sandbox

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds request bodies: a KYC page is at most ~10 MB once base64
// encoded, plus the JSON around it.
const maxBody = 11 << 20

// apiRequest is what an API handler gets: the request, its path parameters and
// its already-read body.
type apiRequest struct {
	r    *http.Request
	p    params
	body []byte
}

type apiFunc func(req apiRequest) reply

func (s *Sandbox) serveAPI(rw http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	w := &statusWriter{ResponseWriter: rw}
	arrived := s.clock.real()
	defer func() { s.logCall(r, arrived, w.status) }()
	s.writeRateLimitHeaders(w, now)

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.errorReply(http.StatusRequestEntityTooLarge, typeParamError, "The request body is too large.", nil).send(w)
			return
		}
		s.paramError(map[string]string{"body": "The request body could not be read."}).send(w)
		return
	}

	if s.exhausted() {
		s.statusError(http.StatusTooManyRequests).send(w)
		return
	}

	f := s.currentFaults()
	if f.APILatencyMs > 0 {
		select {
		case <-time.After(time.Duration(f.APILatencyMs) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	injectFault := f.APIErrorRate > 0 && s.ids.float() < f.APIErrorRate
	// A fault "after commit" lets a POST take effect and then loses its
	// response, the crash that idempotency keys exist for.
	if injectFault && !(f.APIErrorAfterCommit && r.Method == http.MethodPost) {
		s.statusError(f.apiErrorStatus()).send(w)
		return
	}

	rp := s.dispatchAPI(r, body)
	if injectFault {
		rp = s.statusError(f.apiErrorStatus())
	}
	rp.send(w)
}

func (rp reply) send(w http.ResponseWriter) { rp.write(w, rp.encode()) }

func (s *Sandbox) dispatchAPI(r *http.Request, body []byte) reply {
	segs := split(r.URL.Path)
	// /v2.01/oauth/token has no ClientId in it.
	if len(segs) == 3 && strings.EqualFold(segs[1], "oauth") && strings.EqualFold(segs[2], "token") {
		if r.Method != http.MethodPost {
			return s.errorReply(http.StatusMethodNotAllowed, typeOther, "The requested resource does not support http method '"+r.Method+"'.", nil)
		}
		return s.issueToken(r, body)
	}
	if !s.authorized(r) {
		return s.invalidCredentials()
	}
	if len(segs) < 2 || segs[1] != s.cfg.ClientID {
		// Tokens are bound to one ClientId.
		return s.invalidCredentials()
	}
	h, p, pattern, matched, found := s.api.match(r.Method, "/"+strings.Join(segs[2:], "/"))
	if !matched {
		if found {
			return s.errorReply(http.StatusMethodNotAllowed, typeOther, "The requested resource does not support http method '"+r.Method+"'.", nil)
		}
		return s.errorReply(http.StatusNotFound, typeNotFound, "The ressource does not exist",
			map[string]string{"RessourceNotFound": "No endpoint matches " + r.Method + " " + r.URL.Path})
	}
	s.mu.Lock()
	s.calls[r.Method+" "+pattern]++
	s.mu.Unlock()
	req := apiRequest{r: r, p: p, body: body}
	if r.Method == http.MethodPost {
		return s.idempotent(req, h)
	}
	return h(req)
}

// issueToken implements POST /v2.01/oauth/token (client credentials, Basic
// authentication, form body).
func (s *Sandbox) issueToken(r *http.Request, body []byte) reply {
	oauthErr := func(status int, code, desc string) reply {
		return reply{status: status, body: map[string]string{"error": code, "error_description": desc}}
	}
	id, key, valid := basicAuth(r.Header.Get("Authorization"))
	if !valid {
		return oauthErr(http.StatusUnauthorized, "invalid_client", "The authorization header was malformed or not recognized")
	}
	if !s.credentialsMatch(id, key) {
		return oauthErr(http.StatusUnauthorized, "invalid_client", "The client credentials are invalid")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("grant_type") != "client_credentials" {
		return oauthErr(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
	}
	ttl := s.currentSettings().TokenTTLSeconds
	tok := s.ids.uuid()
	tok = strings.ReplaceAll(tok, "-", "")
	s.mu.Lock()
	s.st.putToken(tok, s.clock.Now().Add(time.Duration(ttl)*time.Second))
	s.mu.Unlock()
	return ok(map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": ttl})
}

// credentialsMatch compares in constant time. RFC 6749 has clients
// form-encode the credentials before Basic encoding (golang.org/x/oauth2
// does), while most SDKs send them raw: both are accepted.
func (s *Sandbox) credentialsMatch(id, key string) bool {
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if eq(id, s.cfg.ClientID) && eq(key, s.cfg.APIKey) {
		return true
	}
	uid, err1 := url.QueryUnescape(id)
	ukey, err2 := url.QueryUnescape(key)
	return err1 == nil && err2 == nil && eq(uid, s.cfg.ClientID) && eq(ukey, s.cfg.APIKey)
}

func basicAuth(h string) (id, key string, ok bool) {
	scheme, cred, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}

// authorized checks the bearer token; the scheme is accepted in any case
// because the Node SDK sends "bearer".
func (s *Sandbox) authorized(r *http.Request) bool {
	scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "bearer") {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.tokenValid(strings.TrimSpace(tok), s.clock.Now())
}

// pageParams reads Mangopay's pagination query (page from 1, per_page up to
// 100).
func (s *Sandbox) pageParams(r *http.Request) (page, perPage int, bad reply, ok bool) {
	q := r.URL.Query()
	page, perPage = 1, 10
	if v := queryFold(q, "page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, s.paramError(map[string]string{"page": "page must be a positive integer"}), false
		}
		page = n
	}
	if v := queryFold(q, "per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, 0, s.paramError(map[string]string{"per_page": "per_page must be an integer between 1 and 100"}), false
		}
		perPage = n
	}
	return page, perPage, reply{}, true
}

// queryFold reads a query parameter whatever its case: the docs write
// page/per_page while the Node SDK sends Page/Per_Page and sort/Sort.
func queryFold(q url.Values, name string) string {
	if v := q.Get(name); v != "" {
		return v
	}
	for k, vs := range q {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// paginate slices items for the requested page and sets Mangopay's
// pagination headers.
func paginate[T any](items []T, page, perPage int) ([]T, http.Header) {
	total := len(items)
	pages := (total + perPage - 1) / perPage
	h := http.Header{}
	h.Set("X-Number-Of-Pages", strconv.Itoa(pages))
	h.Set("X-Number-Of-Items", strconv.Itoa(total))
	start := (page - 1) * perPage
	if start >= total {
		return []T{}, h
	}
	end := min(start+perPage, total)
	return items[start:end], h
}

// listReply answers a list endpoint: a bare JSON array plus headers. Items
// are in creation order; a Sort ending in :DESC reverses them.
func listReply[T any](items []T, r *http.Request, s *Sandbox) reply {
	if strings.HasSuffix(strings.ToUpper(queryFold(r.URL.Query(), "Sort")), ":DESC") {
		items = slices.Clone(items)
		slices.Reverse(items)
	}
	return pageReply(items, r, s)
}

// pageReply answers with one page of already ordered items, the
// X-Number-Of-* headers and a Link header.
func pageReply[T any](items []T, r *http.Request, s *Sandbox) reply {
	page, perPage, bad, ok := s.pageParams(r)
	if !ok {
		return bad
	}
	pageItems, h := paginate(items, page, perPage)
	h.Set("Link", s.pageLinks(r, page, perPage, len(items)))
	return reply{status: http.StatusOK, body: pageItems, header: h}
}

// pageLinks builds the Link header: first and last always, prev and next
// when those pages exist, each keeping the request's other parameters.
func (s *Sandbox) pageLinks(r *http.Request, page, perPage, total int) string {
	last := max((total+perPage-1)/perPage, 1)
	link := func(p int, rel string) string {
		q := r.URL.Query()
		for k := range q {
			if strings.EqualFold(k, "page") || strings.EqualFold(k, "per_page") {
				q.Del(k)
			}
		}
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		return "<" + s.cfg.PublicURL + r.URL.EscapedPath() + "?" + q.Encode() + `>; rel="` + rel + `"`
	}
	links := []string{link(1, "first")}
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"))
	}
	return strings.Join(append(links, link(last, "last")), ", ")
}
