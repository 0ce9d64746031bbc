package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kycflow/kycflow/workflows"
)

// This file holds what the fleet-size profiles (open.go, wave.go) share:
// reading a process's memory and CPU from /proc, scraping the worker's
// Prometheus metrics, and signing users up at a fixed concurrency.

// Mem is a process's resident memory, in bytes.
type Mem struct {
	RSS int64 `json:"rss_bytes"` // VmRSS: now
	HWM int64 `json:"hwm_bytes"` // VmHWM: the peak so far
}

// parseProcStatus reads VmRSS and VmHWM out of /proc/<pid>/status.
func parseProcStatus(data []byte) (Mem, error) {
	var m Mem
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return Mem{}, fmt.Errorf("/proc status: %s is %q, want \"<n> kB\"", name, strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb < 0 {
			return Mem{}, fmt.Errorf("/proc status: %s is %q, not a size", name, fields[0])
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.HWM = kb << 10
		}
		seen++
	}
	if seen != 2 {
		return Mem{}, errors.New("/proc status: no VmRSS and VmHWM (a kernel thread, or not Linux?)")
	}
	return m, nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go runs on.
const clockTicks = 100

// parseProcStat reads the CPU time (user + system) out of
// /proc/<pid>/stat.
func parseProcStat(data []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields are counted from the last ')'.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, errors.New("/proc stat: no command name")
	}
	fields := strings.Fields(string(data[end+1:]))
	// utime and stime are fields 14 and 15, so 11 and 12 after the name.
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the name, want at least 13", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("/proc stat: CPU time %q is not a count", f)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// pid is the process's current OS process id (it changes on a restart).
func (p *proc) pid() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0, fmt.Errorf("%s is not running", p.name)
	}
	return p.cmd.Process.Pid, nil
}

func (p *proc) mem() (Mem, error) {
	pid, err := p.pid()
	if err != nil {
		return Mem{}, err
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Mem{}, fmt.Errorf("%s memory: %w", p.name, err)
	}
	return parseProcStatus(data)
}

func (p *proc) cpu() (time.Duration, error) {
	pid, err := p.pid()
	if err != nil {
		return 0, err
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("%s CPU time: %w", p.name, err)
	}
	return parseProcStat(data)
}

// httpBase is the process's health and metrics base URL.
func (p *proc) httpBase() string {
	return strings.TrimSuffix(strings.TrimSuffix(p.ready, "/healthz"), "/readyz")
}

// metrics are a Prometheus text exposition's samples by metric name,
// whatever their labels.
type metrics map[string][]float64

// parseMetrics reads a Prometheus text exposition.
func parseMetrics(r io.Reader) (metrics, error) {
	out := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, value := line, ""
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("metrics: unbalanced labels in %q", line)
			}
			name, value = line[:i], strings.TrimSpace(line[j+1:])
		} else {
			var ok bool
			if name, value, ok = strings.Cut(line, " "); !ok {
				return nil, fmt.Errorf("metrics: no value in %q", line)
			}
		}
		// A timestamp may follow the value.
		value, _, _ = strings.Cut(strings.TrimSpace(value), " ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: %s has value %q", name, value)
		}
		out[name] = append(out[name], v)
	}
	return out, sc.Err()
}

// counter is a counter's total over its labels, whether the exposition
// names it with the _total suffix or without.
func (m metrics) counter(name string) float64 {
	var n float64
	for _, v := range append(slices.Clone(m[name]), m[name+"_total"]...) {
		n += v
	}
	return n
}

// gauge is a gauge's largest value over its labels (one process may
// report it under several; adding them up would count it twice); -1 when
// it is absent.
func (m metrics) gauge(name string) float64 {
	if len(m[name]) == 0 {
		return -1
	}
	return slices.Max(m[name])
}

// scrape reads the process's /metrics.
func (p *proc) scrape(ctx context.Context) (metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.httpBase()+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s metrics: %w", p.name, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s metrics: %s", p.name, res.Status)
	}
	return parseMetrics(res.Body)
}

// signedUp is one user brought to AWAITING_USER.
type signedUp struct {
	Index   int
	UserID  string
	Session workflows.EnsureSessionResult
	Took    time.Duration // POST /v1/onboardings up to its HostedUrl
	At      time.Time
}

// signUp creates n users at the simulator and signs each up through the
// platform API, concurrency at a time. each is called (from any
// goroutine) as each user reaches AWAITING_USER; failures are counted and
// the first kept.
func signUp(ctx context.Context, d *driver, n, concurrency int, deadline time.Duration, each func(signedUp)) (failed int, firstErr error) {
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n || ctx.Err() != nil {
					return
				}
				u := &userRun{Index: i, Path: PathValidated}
				until := fixed(time.Now().Add(deadline))
				id, err := d.createUser(ctx, u, until)
				var res workflows.EnsureSessionResult
				var began time.Time
				if err == nil {
					began = time.Now()
					res, err = d.ensure(ctx, id, "", until)
				}
				if err != nil {
					mu.Lock()
					failed++
					if firstErr == nil {
						firstErr = fmt.Errorf("user %d (%s): %w", i, id, err)
					}
					mu.Unlock()
					continue
				}
				now := time.Now()
				each(signedUp{Index: i, UserID: id, Session: res, Took: now.Sub(began), At: now})
			}
		}()
	}
	wg.Wait()
	return failed, firstErr
}

// kycflowCalls is the simulator's count of the calls kycflow made: every
// API call but the harness's own user creations.
// routeEvents is the fleet reconciliation's route.
const routeEvents = "GET /events"

// onboardingCalls is kycflowCalls without the fleet reconciliation's
// Events reads, which come every RECONCILE_EVENTS_EVERY whatever the users
// do (17 a run): a profile's count per signup must not depend on whether a
// run fell within it.
func onboardingCalls(byRoute map[string]int) int {
	return kycflowCalls(byRoute) - byRoute[routeEvents]
}

func kycflowCalls(byRoute map[string]int) int {
	n := 0
	for route, c := range byRoute {
		if !harnessRoute(route) {
			n += c
		}
	}
	return n
}

// harnessRoute tells the calls the harness makes itself (creating users,
// as a platform would) from kycflow's.
func harnessRoute(route string) bool { return strings.HasPrefix(route, "POST /sca/users/") }
