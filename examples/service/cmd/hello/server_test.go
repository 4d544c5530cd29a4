package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthz(t *testing.T) {
	srv := newServer("v1", "abc")
	rec := httptest.NewRecorder()
	srv.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("healthz: %d", rec.Code)
	}
}

func TestReadyzFollowsReadiness(t *testing.T) {
	srv := newServer("v1", "abc")
	rec := httptest.NewRecorder()
	srv.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz before start: %d", rec.Code)
	}
	srv.setReady(true)
	rec = httptest.NewRecorder()
	srv.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("readyz after start: %d", rec.Code)
	}
}

func TestFaultAndMetrics(t *testing.T) {
	srv := newServer("v2", "abc")
	h := srv.routes()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/admin/fault?errorRate=1", nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("fault not applied: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `http_requests_total{code="500",version="v2"} 1`) {
		t.Fatalf("metrics: %s", rec.Body.String())
	}
}

func TestBadFaultIsRejected(t *testing.T) {
	rec := httptest.NewRecorder()
	newServer("v1", "abc").routes().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/admin/fault?errorRate=2", nil))
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("expected 400, got %d", rec.Code)
	}
}
