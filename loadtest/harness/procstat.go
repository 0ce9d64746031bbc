package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcessFigure is one incarnation of one process of the system: its peak
// resident memory and the CPU it used.
type ProcessFigure struct {
	Name       string  `json:"name"`
	PID        int     `json:"pid"`
	PeakRSSKiB int64   `json:"peak_rss_kib"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// Source: "exit" (the kernel's figures for the ended process:
	// ru_maxrss, ru_utime+ru_stime) or "sampled" (/proc/<pid>: VmHWM and
	// utime+stime, read every second while it ran, so up to a second of
	// CPU short).
	Source string `json:"source"`
}

// incarnation is one process the sampler follows.
type incarnation struct {
	ProcessFigure
	cmd    *exec.Cmd     // nil for a child the harness did not start as a proc (the Temporal dev server)
	exited chan struct{} // closed once cmd.Wait returned
}

// procSampler follows every process of the system, across restarts: the
// harness's procs (simulator, workers, bridges) and any other child of
// the harness (the Temporal dev server, a Redis it starts), named by
// their command.
type procSampler struct {
	procRoot string // /proc
	self     int

	mu    sync.Mutex
	procs func() []*proc
	seen  map[int]*incarnation
	order []*incarnation
}

func newProcSampler() *procSampler {
	return &procSampler{procRoot: "/proc", self: os.Getpid(), seen: map[int]*incarnation{}}
}

// sample reads every process once.
func (ps *procSampler) sample() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	known := map[int]bool{}
	if ps.procs != nil {
		for _, p := range ps.procs() {
			p.mu.Lock()
			cmd, exited := p.cmd, p.exited
			p.mu.Unlock()
			if cmd == nil || cmd.Process == nil {
				continue
			}
			pid := cmd.Process.Pid
			known[pid] = true
			if _, ok := ps.seen[pid]; !ok {
				ps.add(&incarnation{ProcessFigure: ProcessFigure{Name: p.name, PID: pid}, cmd: cmd, exited: exited})
			}
		}
	}
	for _, pid := range ps.children() {
		if _, ok := ps.seen[pid]; !ok && !known[pid] {
			ps.add(&incarnation{ProcessFigure: ProcessFigure{Name: ps.comm(pid), PID: pid}})
		}
	}
	for _, in := range ps.order {
		if in.Source == "exit" {
			continue
		}
		rss, cpu, err := ps.read(in.PID)
		if err != nil {
			continue // gone: its last sample, or its exit figures, stand
		}
		in.PeakRSSKiB, in.CPUSeconds, in.Source = max(in.PeakRSSKiB, rss), max(in.CPUSeconds, cpu), "sampled"
	}
}

func (ps *procSampler) add(in *incarnation) {
	ps.seen[in.PID] = in
	ps.order = append(ps.order, in)
}

// finish takes the kernel's figures of the processes that have ended.
func (ps *procSampler) finish() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, in := range ps.order {
		if in.cmd == nil {
			continue
		}
		select {
		case <-in.exited:
		default:
			continue
		}
		if ru, ok := in.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
			in.PeakRSSKiB = max(in.PeakRSSKiB, ru.Maxrss) // KiB on Linux
			in.CPUSeconds = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)).Seconds()
			in.Source = "exit"
		}
	}
}

// figures returns every incarnation seen, by name then start.
func (ps *procSampler) figures() []ProcessFigure {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]ProcessFigure, 0, len(ps.order))
	for _, in := range ps.order {
		if in.Source != "" {
			out = append(out, in.ProcessFigure)
		}
	}
	slices.SortStableFunc(out, func(a, b ProcessFigure) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// children lists the harness's child processes.
func (ps *procSampler) children() []int {
	entries, err := os.ReadDir(ps.procRoot)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(ps.procRoot, e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields, err := statFields(string(data))
		if err == nil && fields[1] == strconv.Itoa(ps.self) {
			out = append(out, pid)
		}
	}
	return out
}

func (ps *procSampler) comm(pid int) string {
	b, err := os.ReadFile(filepath.Join(ps.procRoot, strconv.Itoa(pid), "comm"))
	if err != nil {
		return "pid " + strconv.Itoa(pid)
	}
	return strings.TrimSpace(string(b))
}

// read returns a process's peak RSS (VmHWM, KiB) and CPU seconds so far.
func (ps *procSampler) read(pid int) (int64, float64, error) {
	dir := filepath.Join(ps.procRoot, strconv.Itoa(pid))
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return 0, 0, err
	}
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0, 0, err
	}
	m, err := parseProcStatus(status)
	if err != nil {
		return 0, 0, err
	}
	cpu, err := parseProcStat(stat)
	if err != nil {
		return 0, 0, err
	}
	return m.HWM >> 10, cpu.Seconds(), nil
}

// statFields splits /proc/<pid>/stat after the command (which may hold
// spaces and parentheses): fields[0] is the state, fields[1] the parent,
// fields[11] utime, fields[12] stime.
func statFields(stat string) ([]string, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, errors.New("no command in /proc stat")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return nil, fmt.Errorf("/proc stat has %d fields after the command, want 13 or more", len(f))
	}
	return f, nil
}

// ProcessSummary is one process name's figures over its incarnations.
type ProcessSummary struct {
	Name         string
	Incarnations int
	PeakRSSKiB   int64   // the largest of any incarnation
	CPUSeconds   float64 // all incarnations together
}

// summarize groups the incarnations by name.
func summarize(figs []ProcessFigure) []ProcessSummary {
	var out []ProcessSummary
	idx := map[string]int{}
	for _, f := range figs {
		i, ok := idx[f.Name]
		if !ok {
			i = len(out)
			idx[f.Name] = i
			out = append(out, ProcessSummary{Name: f.Name})
		}
		s := &out[i]
		s.Incarnations++
		s.PeakRSSKiB = max(s.PeakRSSKiB, f.PeakRSSKiB)
		s.CPUSeconds += f.CPUSeconds
	}
	return out
}
