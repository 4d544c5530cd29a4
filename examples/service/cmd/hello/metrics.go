package main

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Latency histogram buckets, in seconds.
var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

type series struct {
	count   uint64
	sum     float64
	buckets []uint64
}

// metrics keeps http_requests_total and http_request_duration_seconds by code and version, and
// writes them in the Prometheus text exposition format.
type metrics struct {
	mu     sync.Mutex
	series map[[2]string]*series
}

func newMetrics() *metrics { return &metrics{series: map[[2]string]*series{}} }

func (m *metrics) observe(code, version string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := [2]string{code, version}
	s := m.series[key]
	if s == nil {
		s = &series{buckets: make([]uint64, len(buckets))}
		m.series[key] = s
	}
	s.count++
	s.sum += d.Seconds()
	for i, b := range buckets {
		if d.Seconds() <= b {
			s.buckets[i]++
		}
	}
}

func (m *metrics) serve(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([][2]string, 0, len(m.series))
	for k := range m.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	var b strings.Builder
	b.WriteString("# HELP http_requests_total Requests served, by status code and version.\n# TYPE http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "http_requests_total{code=%q,version=%q} %d\n", k[0], k[1], m.series[k].count)
	}
	b.WriteString("# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n")
	for _, k := range keys {
		s := m.series[k]
		for i, le := range buckets {
			fmt.Fprintf(&b, "http_request_duration_seconds_bucket{code=%q,version=%q,le=\"%g\"} %d\n", k[0], k[1], le, s.buckets[i])
		}
		fmt.Fprintf(&b, "http_request_duration_seconds_bucket{code=%q,version=%q,le=\"+Inf\"} %d\n", k[0], k[1], s.count)
		fmt.Fprintf(&b, "http_request_duration_seconds_sum{code=%q,version=%q} %g\n", k[0], k[1], s.sum)
		fmt.Fprintf(&b, "http_request_duration_seconds_count{code=%q,version=%q} %d\n", k[0], k[1], s.count)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(b.String()))
}
