// Package api is the inventory's HTTP interface:
//
//	GET  /                       the first page of items (same as /items)
//	GET  /items?offset=0&limit=N  a page of items, sorted by SKU
//	GET  /items/{sku}            one item
//	POST /items/{sku}/reserve?units=N  take units out of stock (409 when there are not enough)
//	GET  /healthz                liveness
package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"example.com/inventory/internal/metrics"
	"example.com/inventory/internal/store"
)

// defaultPageSize is the page a listing returns without ?limit. (The store refuses a page size
// of 0, and the listing answers 500 for errors it does not expect.)
const defaultPageSize = 50

// Handlers serves the store over HTTP.
type Handlers struct {
	Store   *store.Store
	Metrics *metrics.Registry
}

// Routes is the API mux; every route is counted in the metrics under its own handler name.
func (h *Handlers) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.Metrics.Instrument("list_items", h.listItems))
	mux.HandleFunc("GET /items", h.Metrics.Instrument("list_items", h.listItems))
	mux.HandleFunc("GET /items/{sku}", h.Metrics.Instrument("get_item", h.getItem))
	mux.HandleFunc("POST /items/{sku}/reserve", h.Metrics.Instrument("reserve_item", h.reserveItem))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

func (h *Handlers) listItems(w http.ResponseWriter, r *http.Request) {
	offset, err := intParam(r, "offset", 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	limit, err := intParam(r, "limit", defaultPageSize)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	items, err := h.Store.List(offset, limit)
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "offset": offset, "limit": limit})
}

func (h *Handlers) getItem(w http.ResponseWriter, r *http.Request) {
	item, err := h.Store.Get(r.PathValue("sku"))
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, item)
}

func (h *Handlers) reserveItem(w http.ResponseWriter, r *http.Request) {
	units, err := intParam(r, "units", 1)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	item, err := h.Store.Reserve(r.PathValue("sku"), units)
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, item)
}

// statusFor maps the store's errors to HTTP statuses; anything unexpected is a 500.
func statusFor(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrOutOfStock):
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

func intParam(r *http.Request, name string, fallback int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return fallback, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errors.New(name + " must be an integer")
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
