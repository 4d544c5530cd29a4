// hello-api: the example service Shipyard releases in its demo and tests.
//
//	GET /           greeting with the version
//	GET /healthz    liveness
//	GET /readyz     readiness (503 until started, and while draining)
//	GET /version    {"version": ..., "commit": ...}
//	GET /metrics    Prometheus text format: http_requests_total{code,version}, request latency histogram
//	POST /admin/fault?errorRate=0.3&latency=200ms  make a share of requests fail or slow (canary tests)
//
// Standard library only: the test suite cross-compiles it for four platforms, and every dependency
// would be compiled four times.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Set at build time: -ldflags "-X main.version=v1.2.3 -X main.commit=abc".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	addr := flag.String("addr", envOr("ADDR", ":8080"), "listen address")
	flag.Parse()

	srv := newServer(version, commit)
	httpServer := &http.Server{Addr: *addr, Handler: srv.routes(), ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.setReady(false)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = httpServer.Shutdown(shutdownCtx)
	}()

	srv.setReady(true)
	log.Printf("hello-api %s (%s) listening on %s", version, commit, *addr)
	if err := httpServer.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
