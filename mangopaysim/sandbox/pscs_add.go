package sandbox

import "fmt"

// AddPsc opens a PSC session for one more person of significant control of
// a VALIDATED main session, as Mangopay does when it finds a PSC missing
// (a platform cannot add one): IDENTITY_VERIFICATION_PSC_PENDING, and the
// user is verified only once this PSC is VALIDATED too. It returns the new
// PSC's id.
func (s *Sandbox) AddPsc(mainSessionID string, person PscPerson) (string, error) {
	if err := person.validate(0); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidOutcome, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, found := s.st.sessions[mainSessionID]
	if !found {
		return "", fmt.Errorf("%w: session %s", ErrNotFound, mainSessionID)
	}
	u := s.st.users[ss.UserID]
	if ss.Status != validated || !s.hasPscsLocked(u) {
		return "", fmt.Errorf("%w: session %s is not a VALIDATED main session of a user with PSC sessions", ErrWrongState, mainSessionID)
	}
	s.openPscLocked(ss, u, person)
	return ss.pscs[len(ss.pscs)-1].ID, nil
}
