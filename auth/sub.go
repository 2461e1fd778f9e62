package auth

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// CheckSub checks a web grant's subject as Polar takes it: sub_type is
// user (the default, "") or organization; an organization needs its id as
// sub, the canonical form of a version 4 UUID (uuid.Parse also takes braces
// and urn:uuid:, which the server does not); a user has no sub. Polar
// answers 400 invalid_request to either mistake, so it is said here first.
func CheckSub(subType, sub string) error {
	switch subType {
	case "", SubTypeUser:
		if sub != "" {
			return errors.New("a sub names an organization: choose sub type organization, or leave the sub empty for a user")
		}
		return nil
	case SubTypeOrganization:
		if sub == "" {
			return errors.New("sub type organization needs the organization's id as sub (a version 4 UUID)")
		}
		if u, err := uuid.Parse(sub); err != nil || len(sub) != 36 || u.Version() != 4 || u.Variant() != uuid.RFC4122 {
			return fmt.Errorf("the sub must be a version 4 UUID such as 0b0cbd7c-7a8f-4d8b-9b35-3c1a2d4f5e6a, not %q", sub)
		}
		return nil
	default:
		return fmt.Errorf("the sub type is %s or %s, not %q", SubTypeUser, SubTypeOrganization, subType)
	}
}
