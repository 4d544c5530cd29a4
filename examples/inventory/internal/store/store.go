// Package store keeps the inventory: stock per SKU, in memory, safe for concurrent use.
package store

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

var (
	// ErrNotFound: no item with that SKU.
	ErrNotFound = errors.New("no such item")
	// ErrOutOfStock: fewer units on hand than asked for.
	ErrOutOfStock = errors.New("not enough stock")
	// ErrInvalidPage: a page size or offset no listing can have.
	ErrInvalidPage = errors.New("invalid page")
)

// Item is one stock-keeping unit.
type Item struct {
	SKU   string `json:"sku"`
	Name  string `json:"name"`
	Units int    `json:"units"`
}

// Store is the inventory.
type Store struct {
	mu    sync.Mutex
	items map[string]*Item
}

// New returns a store holding copies of items.
func New(items ...Item) *Store {
	s := &Store{items: map[string]*Item{}}
	for _, it := range items {
		it := it
		s.items[it.SKU] = &it
	}
	return s
}

// Seed is the stock a fresh process starts with.
func Seed() []Item {
	return []Item{
		{SKU: "bolt-m6", Name: "Bolt M6x20", Units: 1200},
		{SKU: "nut-m6", Name: "Nut M6", Units: 3400},
		{SKU: "washer-m6", Name: "Washer M6", Units: 800},
		{SKU: "bracket-l", Name: "L bracket 40mm", Units: 150},
	}
}

// List returns up to limit items sorted by SKU, starting at offset.
func (s *Store) List(offset, limit int) ([]Item, error) {
	if limit <= 0 || offset < 0 {
		return nil, fmt.Errorf("%w: offset %d, limit %d", ErrInvalidPage, offset, limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]Item, 0, len(s.items))
	for _, it := range s.items {
		all = append(all, *it)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].SKU < all[j].SKU })
	if offset >= len(all) {
		return []Item{}, nil
	}
	end := offset + limit
	if end > len(all) {
		end = len(all)
	}
	return all[offset:end], nil
}

// Get returns one item.
func (s *Store) Get(sku string) (Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[sku]
	if !ok {
		return Item{}, fmt.Errorf("%w: %s", ErrNotFound, sku)
	}
	return *it, nil
}

// Reserve takes units out of stock and returns what is left.
func (s *Store) Reserve(sku string, units int) (Item, error) {
	if units <= 0 {
		return Item{}, fmt.Errorf("units must be positive, got %d", units)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[sku]
	if !ok {
		return Item{}, fmt.Errorf("%w: %s", ErrNotFound, sku)
	}
	if it.Units < units {
		return *it, fmt.Errorf("%w: %s has %d, asked for %d", ErrOutOfStock, sku, it.Units, units)
	}
	it.Units -= units
	return *it, nil
}
