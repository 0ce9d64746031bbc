// Package apicontract holds HTTP traffic to the published API contract,
// docs/openapi.yaml (OpenAPI 3.1), with getkin/kin-openapi. Tests use it in
// both directions: every request a test makes and every answer the handlers
// give are validated against the document (Check), and the operations the
// document declares are each seen at least once (Unexercised). It also
// validates the notifications kycflow sends to the platform against the
// document's webhooks section (CheckNotification).
package apicontract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// DocPath is the document's path in the repository.
const DocPath = "docs/openapi.yaml"

// Contract is the loaded document and what the traffic checked against it
// has exercised.
type Contract struct {
	doc    *openapi3.T
	router routers.Router
	// skip lists path prefixes outside the contract (the codec server,
	// which speaks Temporal's codec protocol).
	skip []string

	mu         sync.Mutex
	seen       map[string]map[int]bool // operationId → statuses answered
	violations []string
}

// Load reads and validates the document at path.
func Load(path string) (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validate %s: %w", path, err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("%s: openapi %s, want 3.1", path, doc.OpenAPI)
	}
	// The servers name the default listener; tests reach it at any host.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", path, err)
	}
	return &Contract{doc: doc, router: router, skip: []string{"/codec/"}, seen: map[string]map[int]bool{}}, nil
}

// LoadRepo loads the repository's document, found from the working
// directory upwards (a package's tests run in its folder).
func LoadRepo() (*Contract, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return Load(filepath.Join(dir, DocPath))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, errors.New("apicontract: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Operations lists the document's operation ids (paths only, not webhooks).
func (c *Contract) Operations() []string {
	var ids []string
	for _, item := range c.doc.Paths.Map() {
		for _, op := range item.Operations() {
			ids = append(ids, op.OperationID)
		}
	}
	sort.Strings(ids)
	return ids
}

// Webhooks lists the document's webhook names: the notification event types.
func (c *Contract) Webhooks() []string {
	var names []string
	for name := range c.doc.Webhooks {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// bearer accepts a well-formed Authorization header; whether the token is
// the right one is the handler's business (a wrong one must get 401).
func bearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme == nil || in.SecurityScheme.Type != "http" || !strings.EqualFold(in.SecurityScheme.Scheme, "bearer") {
		return fmt.Errorf("unsupported security scheme %q", in.SecuritySchemeName)
	}
	scheme, token, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || token == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// Check validates one exchange: req (its body already read into reqBody),
// and the answer (status, header, body). It returns what does not agree with
// the document and records it (Violations), and records the operation as
// exercised. A request the document refuses (a test of bad input) must be
// answered 4xx, with an answer the document describes. A path outside the
// document must be answered 404 or 405.
func (c *Contract) Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	if slices.ContainsFunc(c.skip, func(p string) bool { return strings.HasPrefix(req.URL.Path, p) }) {
		return nil
	}
	err := c.check(req, reqBody, status, header, body)
	if err != nil {
		c.mu.Lock()
		c.violations = append(c.violations, err.Error())
		c.mu.Unlock()
	}
	return err
}

func (c *Contract) check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	where := req.Method + " " + req.URL.Path
	r := req.Clone(context.Background())
	r.Body = http.NoBody
	if len(reqBody) > 0 {
		r.Body = readCloser{bytes.NewReader(reqBody)}
	}
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%s: not in %s (%v), yet answered %d", where, DocPath, err, status)
	}
	c.mu.Lock()
	if c.seen[route.Operation.OperationID] == nil {
		c.seen[route.Operation.OperationID] = map[int]bool{}
	}
	c.seen[route.Operation.OperationID][status] = true
	c.mu.Unlock()

	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearer, MultiError: true},
	}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && (status < 400 || status > 499) {
		return fmt.Errorf("%s: the document refuses the request (%v), yet it was answered %d", where, oneLine(reqErr), status)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s: answer %d (%s) disagrees with %s: %v", where, status, clip(body), DocPath, oneLine(err))
	}
	return nil
}

// CheckNotification validates a notification as the platform receives it:
// its event type must be a webhook of the document, and its headers and body
// must match that webhook's request.
func (c *Contract) CheckNotification(req *http.Request, body []byte, eventType string) error {
	item, ok := c.doc.Webhooks[eventType]
	if !ok || item.Post == nil {
		return fmt.Errorf("notification type %q is not a webhook of %s", eventType, DocPath)
	}
	r := req.Clone(context.Background())
	r.Body = readCloser{bytes.NewReader(body)}
	route := &routers.Route{Spec: c.doc, Path: eventType, PathItem: item, Method: http.MethodPost, Operation: item.Post}
	in := &openapi3filter.RequestValidationInput{
		Request: r, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("notification %s disagrees with %s: %v", eventType, DocPath, oneLine(err))
	}
	return nil
}

// Violations returns what Check found, in order.
func (c *Contract) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.violations)
}

// Unexercised lists the operations no checked exchange reached.
func (c *Contract) Unexercised() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, id := range c.Operations() {
		if len(c.seen[id]) == 0 {
			out = append(out, id)
		}
	}
	return out
}

// Exercised lists each operation reached with the statuses it answered,
// for the test log.
func (c *Contract) Exercised() map[string][]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]int{}
	for id, statuses := range c.seen {
		for s := range statuses {
			out[id] = append(out[id], s)
		}
		sort.Ints(out[id])
	}
	return out
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func clip(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
