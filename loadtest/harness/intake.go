package harness

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// intakeMetric is the bridges' histogram of the time to answer a Mangopay
// webhook (webhookbridge/bridge/metrics.go), served on their internal
// address's /metrics.
const intakeMetric = "kycflow_webhook_intake_duration_seconds"

// bucket is one cumulative histogram bucket: observations <= le.
type bucket struct {
	le    float64 // +Inf for the last
	count uint64
}

// parseHistogram reads the buckets of metric from the Prometheus text
// format, sorted by le.
func parseHistogram(r io.Reader, metric string) ([]bucket, error) {
	var out []bucket
	prefix := metric + "_bucket{"
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		labels, value, ok := strings.Cut(line[len(prefix):], "} ")
		if !ok {
			return nil, fmt.Errorf("unreadable bucket line %q", line)
		}
		var le string
		for l := range strings.SplitSeq(labels, ",") {
			if v, ok := strings.CutPrefix(l, `le="`); ok {
				le = strings.TrimSuffix(v, `"`)
			}
		}
		bound, err := strconv.ParseFloat(le, 64) // ParseFloat reads "+Inf"
		if err != nil {
			return nil, fmt.Errorf("unreadable le in %q: %w", line, err)
		}
		n, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("unreadable count in %q", line)
		}
		out = append(out, bucket{le: bound, count: uint64(n)})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s buckets", metric)
	}
	slices.SortFunc(out, func(a, b bucket) int { return cmpFloat(a.le, b.le) })
	return out, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// BucketQuantile is a quantile read from histogram buckets: at most the
// bound of the bucket it falls in (AtMost; +Inf when it falls beyond the
// last bound).
type BucketQuantile struct {
	Count  uint64  `json:"count"`
	AtMost float64 `json:"p99_at_most_seconds"`
}

// quantile returns the q quantile of cumulative buckets.
func quantile(bs []bucket, q float64) BucketQuantile {
	if len(bs) == 0 || bs[len(bs)-1].count == 0 {
		return BucketQuantile{}
	}
	total := bs[len(bs)-1].count
	rank := uint64(math.Ceil(q * float64(total)))
	for _, b := range bs {
		if b.count >= rank {
			return BucketQuantile{Count: total, AtMost: b.le}
		}
	}
	return BucketQuantile{Count: total, AtMost: math.Inf(1)}
}

// MarshalJSON writes +Inf as null (JSON has no infinity).
func (q BucketQuantile) MarshalJSON() ([]byte, error) {
	v := "null"
	if !math.IsInf(q.AtMost, 1) {
		v = strconv.FormatFloat(q.AtMost, 'f', -1, 64)
	}
	return []byte(fmt.Sprintf(`{"count":%d,"p99_at_most_seconds":%s}`, q.Count, v)), nil
}

// IntakeFigures: the bridges' webhook intake p99, over the run and over
// the intervals that overlap a fault window.
type IntakeFigures struct {
	Overall      BucketQuantile `json:"overall"`
	DuringFaults BucketQuantile `json:"during_faults"`
	// ScrapeErrors: scrapes of a bridge's /metrics that failed (a bridge
	// killed by the chaos does not answer).
	ScrapeErrors int `json:"scrape_errors"`
}

// intakeDelta is what one bridge observed between two scrapes.
type intakeDelta struct {
	from, to time.Time
	buckets  []bucket
}

// intakeScraper scrapes every bridge's intake histogram and keeps the
// differences between consecutive scrapes of one bridge process.
type intakeScraper struct {
	mu     sync.Mutex
	last   map[int]intakeSample // by bridge process id
	deltas []intakeDelta
	errors int
}

type intakeSample struct {
	at      time.Time
	buckets []bucket
}

func newIntakeScraper() *intakeScraper { return &intakeScraper{last: map[int]intakeSample{}} }

// add records a scrape of the bridge process pid at at. The first scrape
// of a process covers the interval since the previous scrape round.
func (is *intakeScraper) add(pid int, at, prevRound time.Time, bs []bucket) {
	is.mu.Lock()
	defer is.mu.Unlock()
	prev, ok := is.last[pid]
	is.last[pid] = intakeSample{at: at, buckets: bs}
	d := intakeDelta{from: prevRound, to: at, buckets: bs}
	if ok && len(prev.buckets) == len(bs) {
		d.from = prev.at
		d.buckets = make([]bucket, len(bs))
		for i, b := range bs {
			d.buckets[i] = bucket{le: b.le, count: b.count - min(b.count, prev.buckets[i].count)}
		}
	}
	is.deltas = append(is.deltas, d)
}

// baseline records a scrape of a bridge that was running before the run
// (a target's): its counts so far are not the run's.
func (is *intakeScraper) baseline(id int, at time.Time, bs []bucket) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.last[id] = intakeSample{at: at, buckets: bs}
}

func (is *intakeScraper) failed() {
	is.mu.Lock()
	is.errors++
	is.mu.Unlock()
}

// window is a stretch of the run when a fault was on.
type window struct{ from, to time.Time }

// figures sums the deltas, overall and over those that overlap a window.
func (is *intakeScraper) figures(faults []window) IntakeFigures {
	is.mu.Lock()
	defer is.mu.Unlock()
	var all, during []bucket
	addTo := func(sum []bucket, d []bucket) []bucket {
		if sum == nil {
			sum = make([]bucket, len(d))
			for i, b := range d {
				sum[i].le = b.le
			}
		}
		if len(sum) != len(d) {
			return sum // another bucket layout (a different build): left out
		}
		for i, b := range d {
			sum[i].count += b.count
		}
		return sum
	}
	for _, d := range is.deltas {
		all = addTo(all, d.buckets)
		for _, w := range faults {
			if d.from.Before(w.to) && w.from.Before(d.to) {
				during = addTo(during, d.buckets)
				break
			}
		}
	}
	return IntakeFigures{Overall: quantile(all, 0.99), DuringFaults: quantile(during, 0.99), ScrapeErrors: is.errors}
}

// scrapeIntake reads the intake histogram at url.
func scrapeIntake(ctx context.Context, url string) ([]bucket, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", url, res.StatusCode)
	}
	return parseHistogram(res.Body, intakeMetric)
}
