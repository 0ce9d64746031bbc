package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Binaries are the kycflow programs the harness runs, built once.
type Binaries struct {
	Simulator, Worker, Bridge string
}

// Build compiles ./mangopaysim, ./worker and ./webhookbridge of the module
// at moduleDir into dir.
func Build(ctx context.Context, moduleDir, dir string) (Binaries, error) {
	b := Binaries{
		Simulator: filepath.Join(dir, "mangopaysim"),
		Worker:    filepath.Join(dir, "worker"),
		Bridge:    filepath.Join(dir, "webhookbridge"),
	}
	for pkg, out := range map[string]string{"./mangopaysim": b.Simulator, "./worker": b.Worker, "./webhookbridge": b.Bridge} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = moduleDir
		if msg, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
		}
	}
	return b, nil
}

// proc is one OS process of the system under test, which the chaos can
// kill and restart with the same command and environment.
type proc struct {
	name    string
	path    string
	args    []string
	env     []string
	logPath string
	ready   string // URL answering 200 once the process serves
	// probe, when set instead of ready, answers nil once the process
	// serves (Redis speaks no HTTP).
	probe func(context.Context) error

	chaos    sync.Mutex // held by the fault on it: one at a time
	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	restarts int
}

func (p *proc) start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s log: %w", p.name, err)
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: a signal to the harness's terminal does not
	// reach it, and the harness decides how each process ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	probe := p.probe
	if probe == nil {
		if p.ready == "" {
			return nil
		}
		probe = httpProbe(p.ready)
	}
	if err := waitReady(ctx, probe, exited, 60*time.Second); err != nil {
		return fmt.Errorf("%s (log %s): %w", p.name, p.logPath, err)
	}
	return nil
}

// kill sends SIGKILL, as a crash or an OOM kill would, and waits for the
// process to be gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// stop ends the process gracefully (SIGTERM), then for good.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

// httpProbe is ready once url answers 200.
func httpProbe(url string) func(context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %d", url, res.StatusCode)
		}
		return nil
	}
}

func waitReady(ctx context.Context, probe func(context.Context) error, exited <-chan struct{}, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	var last error
	for {
		if last = probe(ctx); last == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before it was ready")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", wait, last)
		}
	}
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
