package store

import (
	"errors"
	"testing"
)

func TestListPages(t *testing.T) {
	s := New(Seed()...)
	page, err := s.List(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].SKU != "bracket-l" || page[1].SKU != "nut-m6" {
		t.Fatalf("page = %+v", page)
	}
	all, _ := s.List(0, 100)
	if len(all) != 4 || all[0].SKU != "bolt-m6" || all[3].SKU != "washer-m6" {
		t.Fatalf("all = %+v", all)
	}
	if rest, _ := s.List(10, 5); len(rest) != 0 {
		t.Fatalf("past the end: %+v", rest)
	}
	if _, err := s.List(0, 0); !errors.Is(err, ErrInvalidPage) {
		t.Fatalf("limit 0: %v", err)
	}
}

func TestReserve(t *testing.T) {
	s := New(Item{SKU: "a", Name: "A", Units: 3})
	it, err := s.Reserve("a", 2)
	if err != nil || it.Units != 1 {
		t.Fatalf("reserve 2: %+v %v", it, err)
	}
	if _, err := s.Reserve("a", 2); !errors.Is(err, ErrOutOfStock) {
		t.Fatalf("reserve past stock: %v", err)
	}
	if _, err := s.Reserve("b", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown sku: %v", err)
	}
	if _, err := s.Reserve("a", 0); err == nil {
		t.Fatal("reserve 0 should fail")
	}
	if got, _ := s.Get("a"); got.Units != 1 {
		t.Fatalf("left = %d", got.Units)
	}
}
