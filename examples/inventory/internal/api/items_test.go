package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/inventory/internal/metrics"
	"example.com/inventory/internal/store"
)

func serve(t *testing.T, h http.Handler, method, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil && rec.Code != http.StatusOK {
		t.Fatalf("%s %s: %d %q", method, path, rec.Code, rec.Body.String())
	}
	return rec.Code, body
}

func TestRoutes(t *testing.T) {
	m := metrics.New("test")
	h := (&Handlers{Store: store.New(store.Seed()...), Metrics: m}).Routes()

	code, body := serve(t, h, "GET", "/?limit=10")
	if code != 200 || len(body["items"].([]any)) != 4 || body["limit"].(float64) != 10 {
		t.Fatalf("GET / = %d %v", code, body)
	}
	if code, body = serve(t, h, "GET", "/items?limit=1&offset=1"); code != 200 || body["items"].([]any)[0].(map[string]any)["sku"] != "bracket-l" {
		t.Fatalf("page = %d %v", code, body)
	}
	if code, _ = serve(t, h, "GET", "/items?limit=x"); code != 400 {
		t.Fatalf("bad limit = %d", code)
	}
	if code, body = serve(t, h, "GET", "/items/nut-m6"); code != 200 || body["units"].(float64) != 3400 {
		t.Fatalf("get = %d %v", code, body)
	}
	if code, _ = serve(t, h, "GET", "/items/nope"); code != 404 {
		t.Fatalf("missing item = %d", code)
	}
	if code, body = serve(t, h, "POST", "/items/bracket-l/reserve?units=100"); code != 200 || body["units"].(float64) != 50 {
		t.Fatalf("reserve = %d %v", code, body)
	}
	if code, _ = serve(t, h, "POST", "/items/bracket-l/reserve?units=100"); code != 409 {
		t.Fatalf("reserve past stock = %d", code)
	}
	if code, _ = serve(t, h, "GET", "/items?limit=0"); code != 500 {
		t.Fatalf("limit 0 = %d (the store refuses it; unexpected errors are 500)", code)
	}

	text := m.Text()
	for _, want := range []string{
		`inventory_http_requests_total{handler="list_items",status="200"} 2`,
		`inventory_http_requests_total{handler="list_items",status="500"} 1`,
		`inventory_http_requests_total{handler="get_item",status="404"} 1`,
		`inventory_http_requests_total{handler="reserve_item",status="409"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s:\n%s", want, text)
		}
	}
}
