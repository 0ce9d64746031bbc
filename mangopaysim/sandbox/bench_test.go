package sandbox_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

// BenchmarkAPI measures the simulator over real HTTP on loopback, the way
// kycflow's workers and bridges call it: authenticated JSON calls, a mix of
// session reads (what reconciliation and webhook handling do) and creations.
// The load generator shares the machine's cores with the server.
//
//	go test -run '^$' -bench BenchmarkAPI -benchtime 5s ./mangopaysim/sandbox/
func BenchmarkAPI(b *testing.B) {
	e := newEnv(b, fastSettings())
	userID := e.natural()
	sessionID := e.session(userID)["Id"].(string)
	base := e.srv.URL + "/v2.01/" + sandbox.DefaultClientID
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	client := &http.Client{Transport: tr}
	createBody := []byte(`{"ReturnUrl":"https://example.com/back","Tag":"bench"}`)

	do := func(method, url string, body []byte) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, url, rd)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+e.tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("%s %s: status %d", method, url, res.StatusCode)
		}
	}

	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if i%10 == 0 {
				do(http.MethodPost, base+"/users/"+userID+"/identity-verifications", createBody)
				continue
			}
			do(http.MethodGet, base+"/identity-verifications/"+sessionID, nil)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
