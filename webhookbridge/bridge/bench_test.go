package bridge_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/kycflow/kycflow/internal/redisconn"
	"github.com/kycflow/kycflow/internal/redistest"
	"github.com/kycflow/kycflow/routing"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/webhookstream"
	"github.com/kycflow/kycflow/workflows"
)

// Benchmarks of the targets, against a real Redis on loopback:
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench 'Intake|BareGin' -benchtime 5s ./webhookbridge/bridge/
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench ForwarderLag ./webhookbridge/bridge/
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench IntakeMemory -benchtime 1x ./webhookbridge/bridge/
//
// Targets: intake >= 10,000 requests/s on 2 cores with p99 <= 10 ms and at
// least 40% of a bare Gin handler's throughput in the same run; forwarder
// lag under 1 s at 1,000 webhooks/s; memory flat over a long run.
// BRIDGE_BENCH_CONCURRENCY sets the number of requests in flight (default
// 32).

// benchRedis skips without a real Redis and returns the production client
// (redisconn.New) on the bridge tests' database, emptied.
func benchRedis(b *testing.B) *redis.Client {
	b.Helper()
	raw := os.Getenv(redistest.EnvURL)
	if raw == "" {
		b.Skipf("benchmarks need a real Redis on loopback: set %s=redis://127.0.0.1:6379/0", redistest.EnvURL)
	}
	newRedis(b) // takes the lock and empties bridgeTestDB
	u, err := url.Parse(raw)
	require.NoError(b, err)
	u.Path = "/" + strconv.Itoa(bridgeTestDB)
	rdb, err := redisconn.New(u.String())
	require.NoError(b, err)
	b.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func benchConcurrency(b *testing.B) int {
	if v := os.Getenv("BRIDGE_BENCH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err, "BRIDGE_BENCH_CONCURRENCY")
		return n
	}
	return 32
}

// benchBridge is the production intake: JSON access log (to io.Discard, so
// the formatting is paid but the benchmark's output stays readable).
func benchBridge(rdb *redis.Client) *bridge.Bridge {
	b := newBridge(rdb, nil)
	b.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	return b
}

// loadTarget is an HTTP server on loopback set up as Serve sets up the
// public listener, and a pooled client for it.
type loadTarget struct {
	srv    *http.Server
	client *http.Client
	urls   []string // webhooks to send, cycled through
}

func startTarget(b *testing.B, h http.Handler, concurrency int) *loadTarget {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second,
		WriteTimeout: 5 * time.Second, IdleTimeout: 90 * time.Second, MaxHeaderBytes: 16 << 10,
	}
	go func() { _ = srv.Serve(ln) }()
	tr := &http.Transport{MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency, DisableCompression: true}
	t := &loadTarget{srv: srv, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	b.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	base := "http://" + ln.Addr().String() + webhookPath
	date := strconv.FormatInt(time.Now().Unix(), 10)
	for i := range 4096 {
		t.urls = append(t.urls, base+"?EventType=IDENTITY_VERIFICATION_VALIDATED&RessourceId=idv_bench_"+strconv.Itoa(i)+"&Date="+date)
	}
	return t
}

// get sends one webhook and reports whether it got a 200.
func (t *loadTarget) get(u string) bool {
	resp, err := t.client.Get(u)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// loadStats are the figures of one load run.
type loadStats struct {
	n        int
	failures int64
	elapsed  time.Duration
	lat      []time.Duration // sorted
}

func (s loadStats) rps() float64 { return float64(s.n) / s.elapsed.Seconds() }

func (s loadStats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[min(len(s.lat)-1, int(float64(len(s.lat))*p))]
}

// run sends b.N webhooks from concurrency goroutines (b.RunParallel), each
// recording its latencies in its own preallocated slice.
func (t *loadTarget) run(b *testing.B, concurrency int) loadStats {
	b.Helper()
	// Warm the connection pool and the server.
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Go(func() { t.get(t.urls[i%len(t.urls)]) })
	}
	wg.Wait()

	var (
		mu       sync.Mutex
		all      = make([]time.Duration, 0, b.N)
		failures atomic.Int64
		next     atomic.Uint64
	)
	perG := b.N/concurrency + 1024
	b.SetParallelism(max(1, concurrency/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, perG)
		for pb.Next() {
			u := t.urls[next.Add(1)%uint64(len(t.urls))]
			t0 := time.Now()
			if !t.get(u) {
				failures.Add(1)
			}
			lat = append(lat, time.Since(t0))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(all)
	s := loadStats{n: len(all), failures: failures.Load(), elapsed: elapsed, lat: all}
	b.ReportMetric(s.rps(), "req/s")
	b.ReportMetric(float64(s.pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(s.pct(0.99).Microseconds())/1000, "p99-ms")
	if s.failures > 0 {
		b.Fatalf("%d of %d requests failed", s.failures, s.n)
	}
	return s
}

// BenchmarkIntake drives the real public router, storing every webhook in
// Redis, through a real http.Server on loopback.
func BenchmarkIntake(b *testing.B) {
	rdb := benchRedis(b)
	br := benchBridge(rdb)
	conc := benchConcurrency(b)
	t := startTarget(b, br.PublicRouter(), conc)
	s := t.run(b, conc)
	n, err := rdb.XLen(context.Background(), webhookstream.StreamKey).Result()
	require.NoError(b, err)
	if n < int64(s.n) {
		b.Fatalf("%d webhooks acknowledged but only %d stored", s.n, n)
	}
}

// BenchmarkBareGin is the same load against a Gin engine with one handler
// answering 200 "OK": the ceiling the intake is compared with.
func BenchmarkBareGin(b *testing.B) {
	if os.Getenv(redistest.EnvURL) == "" {
		b.Skipf("compared with BenchmarkIntake, which needs %s", redistest.EnvURL)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	ok := func(c *gin.Context) { c.String(http.StatusOK, "OK") }
	r.GET("/webhooks/mangopay/:token", ok)
	conc := benchConcurrency(b)
	t := startTarget(b, r, conc)
	t.run(b, conc)
}

// BenchmarkIntakeMemory sends webhooks in a long bounded loop and reports
// the live heap (after a GC) at checkpoints: it must stay flat.
func BenchmarkIntakeMemory(b *testing.B) {
	rdb := benchRedis(b)
	br := benchBridge(rdb)
	conc := benchConcurrency(b)
	t := startTarget(b, br.PublicRouter(), conc)
	const rounds, perRound = 6, 50_000
	send := func(n int) {
		var next atomic.Uint64
		var failures atomic.Int64
		var wg sync.WaitGroup
		for range conc {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > uint64(n) {
						return
					}
					if !t.get(t.urls[i%uint64(len(t.urls))]) {
						failures.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if f := failures.Load(); f > 0 {
			b.Fatalf("%d requests failed", f)
		}
	}
	heap := func() (uint64, int) {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc, runtime.NumGoroutine()
	}
	for range b.N {
		send(perRound) // warm-up: pools, buffers, connections
		before, gBefore := heap()
		lo, hi := before, before
		for r := range rounds {
			send(perRound)
			h, g := heap()
			lo, hi = min(lo, h), max(hi, h)
			b.Logf("after %d webhooks: live heap %.2f MB, %d goroutines", (r+1)*perRound, float64(h)/(1<<20), g)
		}
		after, gAfter := heap()
		b.ReportMetric(float64(before)/(1<<20), "heap-before-MB")
		b.ReportMetric(float64(after)/(1<<20), "heap-after-MB")
		b.ReportMetric(float64(hi-lo)/(1<<10), "heap-spread-KB")
		b.ReportMetric(float64(gAfter-gBefore), "goroutines-delta")
		b.ReportMetric(float64(rounds*perRound), "webhooks")
	}
}

// lagSignaler records, for each event, the time from its append to its
// signal.
type lagSignaler struct {
	appended sync.Map // EventKey → time.Time
	mu       sync.Mutex
	lags     []time.Duration
	inner    bridge.Signaler // nil: succeed at once
}

func (s *lagSignaler) SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error {
	if s.inner != nil {
		if err := s.inner.SignalWorkflow(ctx, workflowID, runID, signalName, arg); err != nil {
			return err
		}
	}
	s.record(arg.(webhookstream.MangopayEvent).EventKey)
	return nil
}

func (s *lagSignaler) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, fmt.Errorf("not used by the benchmark")
}

func (s *lagSignaler) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, serviceerror.NewNotFound("bench: no workflow")
}

func (s *lagSignaler) record(key string) {
	at, ok := s.appended.Load(key)
	if !ok {
		return
	}
	lag := time.Since(at.(time.Time))
	s.mu.Lock()
	s.lags = append(s.lags, lag)
	s.mu.Unlock()
}

func (s *lagSignaler) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lags)
}

// feed appends rate webhooks per second for d, routed through the index to
// users, and returns how many it appended.
func feed(b *testing.B, store *webhookstream.Store, sig *lagSignaler, sessions []string, rate int, d time.Duration) int {
	b.Helper()
	date := time.Now().Unix()
	start := time.Now()
	total := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	for i := range total {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait) // pacing the load, not waiting for a result
		}
		ev := ev("IDENTITY_VERIFICATION_PENDING", sessions[i%len(sessions)], date+int64(i/len(sessions)))
		now := time.Now()
		sig.appended.Store(ev.EventKey, now)
		require.NoError(b, store.Append(context.Background(), ev, now))
	}
	return total
}

func reportLag(b *testing.B, sig *lagSignaler, m *bridge.Metrics) {
	sig.mu.Lock()
	lags := slices.Clone(sig.lags)
	sig.mu.Unlock()
	slices.Sort(lags)
	at := func(p float64) float64 {
		return float64(lags[min(len(lags)-1, int(float64(len(lags))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-lag-ms")
	b.ReportMetric(at(0.99), "p99-lag-ms")
	b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, "max-lag-ms")
	b.ReportMetric(histogramP99(b, m)*1000, "hist-p99-ms")
}

// histogramP99 is the upper bound of the ForwardLag bucket holding the 99th
// percentile.
func histogramP99(b *testing.B, m *bridge.Metrics) float64 {
	families, err := m.Registry.Gather()
	require.NoError(b, err)
	for _, f := range families {
		if f.GetName() != "kycflow_forwarder_lag_seconds" {
			continue
		}
		h := f.GetMetric()[0].GetHistogram() // outcome "forwarded" sorts first
		target := uint64(float64(h.GetSampleCount()) * 0.99)
		for _, bk := range h.GetBucket() {
			if bk.GetCumulativeCount() >= target {
				return bk.GetUpperBound()
			}
		}
	}
	return -1
}

// BenchmarkForwarderLag feeds 1,000 webhooks/s for 5 s to a forwarder that
// resolves each through the routing index and signals a fake Temporal that
// answers at once: the forwarder's own lag.
func BenchmarkForwarderLag(b *testing.B) {
	rdb := benchRedis(b)
	for range b.N {
		newRedis(b)
		ix := routing.NewIndex(rdb, 0)
		var sessions []string
		for i := range 100 {
			s := "idv_lag_" + strconv.Itoa(i)
			require.NoError(b, ix.Put(context.Background(), routing.KindSession, s, "user_lag_"+strconv.Itoa(i)))
			sessions = append(sessions, s)
		}
		sig := &lagSignaler{}
		m := bridge.NewMetrics(nil)
		f := &bridge.Forwarder{RDB: rdb, Temporal: sig, Resolver: &bridge.Resolver{Index: ix}, Metrics: m, Logger: quietLogger(), Consumer: "bench"}
		startForwarder(b, f)
		total := feed(b, webhookstream.NewStore(rdb), sig, sessions, 1000, 5*time.Second)
		require.Eventually(b, func() bool { return sig.count() >= total }, waitFor, tick, "every webhook forwarded")
		reportLag(b, sig, m)
	}
}

// BenchmarkForwarderLagTemporal is BenchmarkForwarderLag with real signals:
// 50 onboardings awaiting their users on the Temporal dev server, each sent
// IDENTITY_VERIFICATION_PENDING webhooks for its session (the workflow
// records and ignores them: nothing to re-read), with the worker in this
// process.
func BenchmarkForwarderLagTemporal(b *testing.B) {
	rdb := benchRedis(b)
	dev := requireDev(b)
	api := newBridge(dev.rdb, dev.c).InternalRouter()
	var sessions []string
	for range 50 {
		user := createUser(b, dev.mp)
		res := createOnboarding(b, api, user, "")
		require.Equal(b, workflows.StatusAwaitingUser, res.Status)
		sessions = append(sessions, res.IdvSessionID)
		b.Cleanup(func() { endOnboarding(b, api, user) })
	}
	b.ResetTimer()
	for range b.N {
		sig := &lagSignaler{inner: dev.c}
		m := bridge.NewMetrics(nil)
		f := &bridge.Forwarder{RDB: rdb, Temporal: sig, Resolver: &bridge.Resolver{Index: dev.index}, Metrics: m, Logger: quietLogger(), Consumer: "bench-temporal"}
		startForwarder(b, f)
		total := feed(b, webhookstream.NewStore(rdb), sig, sessions, 1000, 5*time.Second)
		require.Eventually(b, func() bool { return sig.count() >= total }, 5*time.Minute, tick, "every webhook signalled")
		reportLag(b, sig, m)
	}
}
