package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
	"github.com/kycflow/kycflow/workflows"
)

var httpClient = &http.Client{Timeout: 30 * time.Second}

// errPermanent marks an answer that retrying cannot change (4xx).
var errPermanent = errors.New("refused")

// call sends a JSON request and decodes a 2xx answer into out. A 4xx is
// errPermanent; a 5xx or a transport error may pass.
func call(ctx context.Context, method, url, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, url, err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	status, data, err := send(req)
	if err != nil {
		return err
	}
	return answer(method, url, status, data, out)
}

// maxAnswer bounds an answer the harness reads: the simulator's logs of a
// 10,000-user run (10,000 webhook deliveries) are several MiB.
var maxAnswer int64 = 64 << 20

// send does req and reads the answer; one over maxAnswer is an error, not
// a truncated document.
func send(req *http.Request) (int, []byte, error) {
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer+1))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read: %w", req.Method, req.URL, err)
	}
	if int64(len(data)) > maxAnswer {
		return 0, nil, fmt.Errorf("%w: %s %s: the answer is over %d bytes", errPermanent, req.Method, req.URL, maxAnswer)
	}
	return res.StatusCode, data, nil
}

// answer decodes a 2xx answer into out. A 4xx is errPermanent; a 5xx or
// a 429 may pass.
func answer(method, url string, status int, data []byte, out any) error {
	switch {
	case status >= 500 || status == http.StatusTooManyRequests:
		return fmt.Errorf("%s %s: %d %s", method, url, status, bytes.TrimSpace(data))
	case status >= 400:
		return fmt.Errorf("%w: %s %s: %d %s", errPermanent, method, url, status, bytes.TrimSpace(data))
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, url, err)
		}
	}
	return nil
}

// retry runs fn until it succeeds, fails for good, or deadline passes.
func retry(ctx context.Context, deadline time.Time, fn func() error) error {
	return retryUntil(ctx, fixed(deadline), fn)
}

// until says when a wait gives up. It is asked again as the wait goes on:
// a user's deadline moves later with each fault injected around it.
type until func() time.Time

// fixed is a deadline that does not move.
func fixed(t time.Time) until { return func() time.Time { return t } }

// retryUntil is retry with a deadline that may move.
func retryUntil(ctx context.Context, deadline until, fn func() error) error {
	wait := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || errors.Is(err, errPermanent) {
			return err
		}
		if time.Now().Add(wait).After(deadline()) {
			return fmt.Errorf("gave up at the deadline: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// simSettings changes the simulator's settings through its control API.
func (s *system) simSettings(ctx context.Context, change func(*sandbox.Settings)) error {
	var set sandbox.Settings
	if err := call(ctx, http.MethodGet, s.simURL+"/_sim/settings", "", nil, &set); err != nil {
		return err
	}
	change(&set)
	return call(ctx, http.MethodPut, s.simURL+"/_sim/settings", "", set, nil)
}

// setFaults replaces the simulator's faults.
func (s *system) setFaults(ctx context.Context, f sandbox.Faults) error {
	return call(ctx, http.MethodPut, s.simURL+"/_sim/faults", "", f, nil)
}

// simCalls reads the simulator's API call counts by route.
func (s *system) simCalls(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := call(ctx, http.MethodGet, s.simURL+"/_sim/calls", "", nil, &out)
	return out, err
}

// droppedWebhooks counts the webhooks the simulator did not send (a
// webhooks-dropped window), from its delivery log (its last 10,000
// attempts: a floor on a longer run).
func (s *system) droppedWebhooks(ctx context.Context) (int, error) {
	var log []sandbox.Delivery
	if err := call(ctx, http.MethodGet, s.simURL+"/_sim/webhooks", "", nil, &log); err != nil {
		return 0, err
	}
	n := 0
	for _, d := range s.runDeliveries(log) {
		if d.Result == sandbox.Dropped {
			n++
		}
	}
	return n, nil
}

// errStillUploading: the platform API answered 202, the submission goes on;
// its result is at GET /v1/onboardings/{id}/documents/{key}.
var errStillUploading = errors.New("202: the document is still being uploaded")

// documentPage is one page of the extra document: a PDF header and
// padding, above the simulator's 1 KiB floor for a non-identity document.
var documentPage = append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0"), 2<<10)...)

// postDocument submits a one-page KYC document through the platform API
// (POST /v1/onboardings/{id}/documents, multipart) under the platform's
// Idempotency-Key, and follows a 202 to the submission's result. The same
// key on every try: a retry must get the first answer, never a second
// document.
func postDocument(ctx context.Context, apiURL, token, userID, docType, tag, key string) (workflows.SubmitDocumentResult, error) {
	var res workflows.SubmitDocumentResult
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("Type", docType)
	_ = mw.WriteField("Tag", tag)
	fw, err := mw.CreateFormFile("Pages", "page-1.pdf")
	if err != nil {
		return res, fmt.Errorf("build the upload: %w", err)
	}
	_, _ = fw.Write(documentPage)
	if err := mw.Close(); err != nil {
		return res, fmt.Errorf("build the upload: %w", err)
	}
	url := apiURL + "/v1/onboardings/" + userID + "/documents"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
	if err != nil {
		return res, fmt.Errorf("POST %s: %w", url, err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	status, data, err := send(req)
	if err != nil {
		return res, err
	}
	if status == http.StatusAccepted {
		return res, errStillUploading
	}
	if err := answer(http.MethodPost, url, status, data, &res); err != nil {
		return res, err
	}
	if res.KycDocumentID == "" {
		return res, fmt.Errorf("POST %s: no KycDocumentId in %s", url, data)
	}
	return res, nil
}

// documentResult reads the result of the submission under key: found is
// false when the platform API knows no such submission (404).
func documentResult(ctx context.Context, apiURL, token, userID, key string) (res workflows.SubmitDocumentResult, found bool, err error) {
	url := apiURL + "/v1/onboardings/" + userID + "/documents/" + key
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return res, false, fmt.Errorf("GET %s: %w", url, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	status, data, err := send(req)
	switch {
	case err != nil:
		return res, true, err
	case status == http.StatusNotFound:
		return res, false, nil
	case status == http.StatusAccepted:
		return res, true, errStillUploading
	}
	return res, true, answer(http.MethodGet, url, status, data, &res)
}
