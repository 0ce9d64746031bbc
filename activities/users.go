package activities

import (
	"context"

	"go.temporal.io/sdk/temporal"

	"github.com/kycflow/kycflow/mangopay"
)

// ReadUserInput names the user to read.
type ReadUserInput struct {
	UserID string
}

// ReadUserResult is the part of the user the workflow decides on: no names,
// no birthdates.
type ReadUserResult struct {
	UserID          string
	PersonType      string
	LegalPersonType string
	UserCategory    string
	KYCLevel        string
}

// ReadUser reads the user through the SCA view.
func (a *Activities) ReadUser(ctx context.Context, in ReadUserInput) (ReadUserResult, error) {
	u, err := a.Mangopay.GetUserSCA(ctx, in.UserID)
	if mangopay.IsNotFound(err) {
		return ReadUserResult{}, temporal.NewNonRetryableApplicationError("mangopay user "+in.UserID+" does not exist", ErrTypeUserNotFound, err)
	}
	if err != nil {
		return ReadUserResult{}, a.mangopayError(ctx, "read user", err)
	}
	return ReadUserResult{
		UserID: u.ID, PersonType: string(u.PersonType), LegalPersonType: string(u.LegalPersonType),
		UserCategory: string(u.UserCategory), KYCLevel: string(u.KYCLevel),
	}, nil
}
