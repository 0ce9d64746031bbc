package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
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
	res, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, url, err)
	}
	switch {
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, bytes.TrimSpace(data))
	case res.StatusCode >= 400:
		return fmt.Errorf("%w: %s %s: %d %s", errPermanent, method, url, res.StatusCode, bytes.TrimSpace(data))
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
	wait := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || errors.Is(err, errPermanent) {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
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
