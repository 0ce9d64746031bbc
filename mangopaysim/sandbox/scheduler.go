package sandbox

import (
	"container/heap"
	"sync"
	"time"
)

// scheduler runs work at instants of simulated time: delayed outcomes, KYC
// processing, session expiry and webhook (re)deliveries. It is woken early
// whenever the clock is advanced so that an advance is observed at once.
type scheduler struct {
	clock *clock

	// runMu serialises task execution so that RunDue called after an
	// advance returns only once every due task, including one the loop had
	// already picked up, has run.
	runMu sync.Mutex

	mu    sync.Mutex
	tasks taskHeap
	seq   uint64
	gen   uint64 // bumped by reset: tasks of older generations are dropped
	wake  chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
}

type task struct {
	due time.Time
	seq uint64
	gen uint64
	fn  func()
}

type taskHeap []*task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(*task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

func newScheduler(c *clock) *scheduler {
	s := &scheduler{clock: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.wg.Add(1)
	go s.loop()
	return s
}

// At schedules fn to run at the simulated instant due (or as soon as possible
// if due has passed).
func (s *scheduler) At(due time.Time, fn func()) {
	s.mu.Lock()
	s.seq++
	heap.Push(&s.tasks, &task{due: due, seq: s.seq, gen: s.gen, fn: fn})
	s.mu.Unlock()
	s.poke()
}

// Reset drops every pending task.
func (s *scheduler) Reset() {
	s.mu.Lock()
	s.tasks = nil
	s.gen++
	s.mu.Unlock()
}

// RunDue runs, in the caller's goroutine, every task that is due now. The
// control API calls it after advancing the clock so the effects of an advance
// are visible in its response.
func (s *scheduler) RunDue() {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	for {
		s.mu.Lock()
		if len(s.tasks) == 0 || s.tasks[0].due.After(s.clock.Now()) {
			s.mu.Unlock()
			return
		}
		t := heap.Pop(&s.tasks).(*task)
		stale := t.gen != s.gen
		s.mu.Unlock()
		if !stale {
			t.fn()
		}
	}
}

func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) loop() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.RunDue()
		wait := time.Hour
		s.mu.Lock()
		if len(s.tasks) > 0 {
			wait = s.clock.untilReal(s.tasks[0].due)
		}
		s.mu.Unlock()
		if wait < 0 {
			wait = 0
		}
		timer.Reset(wait)
		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// Close stops the loop and waits for it.
func (s *scheduler) Close() {
	close(s.done)
	s.wg.Wait()
}
