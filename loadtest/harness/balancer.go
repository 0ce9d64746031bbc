package harness

import (
	"bytes"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// balancer stands in for the load balancer in front of the bridges:
// round robin, and a backend that refuses the connection (killed, or
// restarting) is skipped, as a balancer's health check would.
type balancer struct {
	backends []string // base URLs
	next     atomic.Uint64
	client   *http.Client
}

func newBalancer(backends []string) *balancer {
	return &balancer{backends: backends, client: &http.Client{
		Timeout: 30 * time.Second,
		// The client's own redirects are the caller's business.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	start := b.next.Add(1)
	for i := range b.backends {
		target := b.backends[(int(start)+i)%len(b.backends)] + r.URL.RequestURI()
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Header = r.Header.Clone()
		res, err := b.client.Do(req)
		if err != nil {
			continue // the next backend
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
		res.Body.Close()
		return
	}
	http.Error(w, "no backend answered", http.StatusBadGateway)
}
