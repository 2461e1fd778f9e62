package store

import (
	"sync"

	"github.com/zalando/go-keyring"
)

// NewMemoryKeychain returns a Keychain that keeps its entries in memory, for
// the tests of the packages above this one. Each has entries of its own,
// shared by its copies, so tests using one may run in parallel, which
// go-keyring's process-wide keyring.MockInit rules out. The store's own
// tests use the real Secret Service.
func NewMemoryKeychain() Keychain {
	return Keychain{kr: &memoryKeyring{entries: map[memoryEntry]string{}}}
}

type memoryEntry struct{ service, user string }

// memoryKeyring is a keyring.Keyring in a map, answering as go-keyring
// does: keyring.ErrNotFound for a missing entry.
type memoryKeyring struct {
	mu      sync.Mutex
	entries map[memoryEntry]string
}

func (m *memoryKeyring) Set(service, user, password string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[memoryEntry{service, user}] = password
	return nil
}

func (m *memoryKeyring) Get(service, user string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.entries[memoryEntry{service, user}]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (m *memoryKeyring) Delete(service, user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := memoryEntry{service, user}
	if _, ok := m.entries[e]; !ok {
		return keyring.ErrNotFound
	}
	delete(m.entries, e)
	return nil
}

func (m *memoryKeyring) DeleteAll(service string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for e := range m.entries {
		if e.service == service {
			delete(m.entries, e)
		}
	}
	return nil
}
