package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kycflow/kycflow/internal/pprofserve"
)

// withPprof gives the first worker and the first bridge a pprof listener
// (PPROF_ADDR) when the run takes profiles (Config.PprofDir).
func (s *system) withPprof(p *proc, index int) error {
	if s.cfg.PprofDir == "" || index != 0 {
		return nil
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	p.env = append(p.env, pprofserve.EnvAddr+"="+addr)
	if s.pprof == nil {
		s.pprof = map[string]string{}
	}
	s.pprof[p.name] = addr
	return nil
}

// profileTiming places the CPU profile in the middle half of the time it
// takes to start every onboarding, 2 to 30 s long.
func profileTiming(span time.Duration) (wait, length time.Duration) {
	length = min(max(span/2, 2*time.Second), 30*time.Second)
	return span / 4, length
}

// takeProfiles waits, then takes a CPU profile of length and a heap
// profile of every process with a pprof listener, into dir. It returns
// the files written, and a line for each that failed (a process the chaos
// killed at the time).
func (s *system) takeProfiles(ctx context.Context, dir string, wait, length time.Duration) []string {
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(wait):
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return []string{"FAILED: " + err.Error()}
	}
	var (
		mu  sync.Mutex
		out []string
		wg  sync.WaitGroup
	)
	for name, addr := range s.pprof {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seconds := max(1, int(length.Seconds()))
			for _, prof := range []struct{ kind, path string }{
				{"cpu", fmt.Sprintf("/debug/pprof/profile?seconds=%d", seconds)},
				{"heap", "/debug/pprof/heap"},
			} {
				file := filepath.Join(dir, name+"."+prof.kind+".pprof")
				line := file
				if err := fetchProfile(ctx, "http://"+addr+prof.path, file, length+30*time.Second); err != nil {
					line = fmt.Sprintf("%s %s FAILED: %v", name, prof.kind, err)
				}
				mu.Lock()
				out = append(out, line)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

func fetchProfile(ctx context.Context, url, file string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", url, res.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
