package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	r := New("v1.2.3")
	h := r.Instrument("get_item", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	h(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/x", nil))
	h(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/x", nil))
	r.Observe("list_items", 200, 2*time.Millisecond)

	text := r.Text()
	for _, want := range []string{
		`inventory_build_info{version="v1.2.3"} 1`,
		`inventory_http_requests_total{handler="get_item",status="404"} 2`,
		`inventory_http_requests_total{handler="list_items",status="200"} 1`,
		`inventory_http_request_duration_seconds_bucket{handler="list_items",le="0.005"} 1`,
		`inventory_http_request_duration_seconds_bucket{handler="list_items",le="0.001"} 0`,
		`inventory_http_request_duration_seconds_count{handler="get_item"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
}
