// Package metrics counts requests per handler and status and writes them in the Prometheus text
// exposition format (standard library only):
//
//	inventory_http_requests_total{handler,status}           counter
//	inventory_http_request_duration_seconds{handler}        histogram
//	inventory_build_info{version}                           always 1
package metrics

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Latency buckets, in seconds.
var buckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5}

type histogram struct {
	count  uint64
	sum    float64
	counts []uint64
}

// Registry holds the counters of one process.
type Registry struct {
	version   string
	mu        sync.Mutex
	requests  map[[2]string]uint64 // {handler, status} -> count
	durations map[string]*histogram
}

// New returns an empty registry reporting the given build version.
func New(version string) *Registry {
	return &Registry{version: version, requests: map[[2]string]uint64{}, durations: map[string]*histogram{}}
}

// Observe records one finished request.
func (r *Registry) Observe(handler string, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests[[2]string{handler, strconv.Itoa(status)}]++
	h := r.durations[handler]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(buckets))}
		r.durations[handler] = h
	}
	h.count++
	h.sum += d.Seconds()
	for i, b := range buckets {
		if d.Seconds() <= b {
			h.counts[i]++
		}
	}
}

// Instrument wraps next so each request is counted under the handler name.
func (r *Registry) Instrument(handler string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next(rec, req)
		r.Observe(handler, rec.status, time.Since(start))
	}
}

// ServeHTTP writes every series in the text format.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(r.Text()))
}

// Text is the exposition of every series, sorted so output is stable.
func (r *Registry) Text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	b.WriteString("# HELP inventory_build_info The running build.\n# TYPE inventory_build_info gauge\n")
	fmt.Fprintf(&b, "inventory_build_info{version=%q} 1\n", r.version)

	b.WriteString("# HELP inventory_http_requests_total Requests answered, by handler and HTTP status.\n# TYPE inventory_http_requests_total counter\n")
	keys := make([][2]string, 0, len(r.requests))
	for k := range r.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	for _, k := range keys {
		fmt.Fprintf(&b, "inventory_http_requests_total{handler=%q,status=%q} %d\n", k[0], k[1], r.requests[k])
	}

	b.WriteString("# HELP inventory_http_request_duration_seconds Request latency, by handler.\n# TYPE inventory_http_request_duration_seconds histogram\n")
	handlers := make([]string, 0, len(r.durations))
	for h := range r.durations {
		handlers = append(handlers, h)
	}
	sort.Strings(handlers)
	for _, name := range handlers {
		h := r.durations[name]
		for i, le := range buckets {
			fmt.Fprintf(&b, "inventory_http_request_duration_seconds_bucket{handler=%q,le=%q} %d\n", name, strconv.FormatFloat(le, 'g', -1, 64), h.counts[i])
		}
		fmt.Fprintf(&b, "inventory_http_request_duration_seconds_bucket{handler=%q,le=\"+Inf\"} %d\n", name, h.count)
		fmt.Fprintf(&b, "inventory_http_request_duration_seconds_sum{handler=%q} %g\n", name, h.sum)
		fmt.Fprintf(&b, "inventory_http_request_duration_seconds_count{handler=%q} %d\n", name, h.count)
	}
	return b.String()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
