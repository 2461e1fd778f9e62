package auth_test

import (
	"sync"

	"github.com/tokentray/tokentray/auth"
)

// memStore is the auth tests' TokenStore in memory: it counts saves and
// fails loads or saves with the error set by failLoads or failSaves. It is
// safe for a Keeper's goroutines and a test at once.
type memStore struct {
	mu      sync.Mutex
	tokens  map[string]auth.Token
	saves   int
	loadErr error
	saveErr error
}

// newMemStore returns a memStore holding tokens, by profile.
func newMemStore(tokens map[string]auth.Token) *memStore {
	st := &memStore{tokens: map[string]auth.Token{}}
	for p, t := range tokens {
		st.tokens[p] = t
	}
	return st
}

func (s *memStore) LoadToken(p string) (auth.Token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[p]
	return t, ok, s.loadErr
}

func (s *memStore) SaveToken(p string, t auth.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saveErr != nil {
		return s.saveErr
	}
	s.saves++
	s.tokens[p] = t
	return nil
}

// get is the token stored for p, zero if none.
func (s *memStore) get(p string) auth.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[p]
}

// put stores t for p as another process would, without counting a save.
func (s *memStore) put(p string, t auth.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[p] = t
}

// drop removes p's token, as whoever changes a profile's credentials does.
func (s *memStore) drop(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, p)
}

// saveCount is how many saves succeeded.
func (s *memStore) saveCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// failLoads makes every load return err too; nil ends that.
func (s *memStore) failLoads(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadErr = err
}

// failSaves makes every save fail with err; nil ends that.
func (s *memStore) failSaves(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saveErr = err
}
