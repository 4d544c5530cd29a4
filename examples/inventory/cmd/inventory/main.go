// inventory: a second example service for Shipyard's local stack, laid out like many real Go
// services (cmd/, internal/, charts/). It serves its API and its metrics on two addresses, both
// from the environment the chart sets (12-factor):
//
//	LISTEN_ADDR   the API (default :8080)
//	METRICS_ADDR  Prometheus metrics at /internal/metrics (default :9102)
//
// Standard library only.
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"example.com/inventory/internal/api"
	"example.com/inventory/internal/metrics"
	"example.com/inventory/internal/store"
)

// Set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// MetricsPath is where the metrics listener serves the exposition.
const MetricsPath = "/internal/metrics"

func main() {
	listen := envOr("LISTEN_ADDR", ":8080")
	metricsAddr := envOr("METRICS_ADDR", ":9102")

	reg := metrics.New(version)
	handlers := &api.Handlers{Store: store.New(store.Seed()...), Metrics: reg}
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET "+MetricsPath, reg)
	servers := []*http.Server{
		{Addr: listen, Handler: handlers.Routes(), ReadHeaderTimeout: 5 * time.Second},
		{Addr: metricsAddr, Handler: metricsMux, ReadHeaderTimeout: 5 * time.Second},
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	failed := make(chan error, len(servers))
	for _, s := range servers {
		go func(s *http.Server) {
			if err := s.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				failed <- err
			}
		}(s)
	}
	log.Printf("inventory %s: API on %s, metrics on %s%s", version, listen, metricsAddr, MetricsPath)

	select {
	case <-ctx.Done():
	case err := <-failed:
		log.Printf("inventory: %v", err)
		os.Exit(1)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdownCtx)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
