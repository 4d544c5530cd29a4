package main

import (
	"fmt"
	"math/rand"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type server struct {
	version string
	commit  string
	ready   atomic.Bool
	metrics *metrics

	mu        sync.Mutex
	errorRate float64
	latency   time.Duration
}

func newServer(version, commit string) *server {
	return &server{version: version, commit: commit, metrics: newMetrics()}
}

func (s *server) setReady(ready bool) { s.ready.Store(ready) }

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": s.version, "commit": s.commit})
	})
	mux.HandleFunc("GET /metrics", s.metrics.serve)
	mux.HandleFunc("POST /admin/fault", s.setFault)
	mux.HandleFunc("GET /", s.instrument(func(w http.ResponseWriter, _ *http.Request) int {
		writeJSON(w, http.StatusOK, map[string]string{"message": "hello", "version": s.version})
		return http.StatusOK
	}))
	return mux
}

// instrument applies the configured fault and records the request in the metrics.
func (s *server) instrument(h func(http.ResponseWriter, *http.Request) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.mu.Lock()
		errorRate, latency := s.errorRate, s.latency
		s.mu.Unlock()
		if latency > 0 {
			time.Sleep(latency)
		}
		code := http.StatusInternalServerError
		if errorRate > 0 && rand.Float64() < errorRate {
			writeJSON(w, code, map[string]string{"error": "injected fault"})
		} else {
			code = h(w, r)
		}
		s.metrics.observe(strconv.Itoa(code), s.version, time.Since(start))
	}
}

func (s *server) setFault(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rate, err := strconv.ParseFloat(q.Get("errorRate"), 64)
	if q.Get("errorRate") == "" {
		rate, err = 0, nil
	}
	if err != nil || rate < 0 || rate > 1 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "errorRate must be a number in [0, 1]"})
		return
	}
	var latency time.Duration
	if v := q.Get("latency"); v != "" {
		latency, err = time.ParseDuration(v)
		if err != nil || latency < 0 || latency > 30*time.Second {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "latency must be a duration up to 30s"})
			return
		}
	}
	s.mu.Lock()
	s.errorRate, s.latency = rate, latency
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"errorRate": fmt.Sprint(rate), "latency": latency.String()})
}
