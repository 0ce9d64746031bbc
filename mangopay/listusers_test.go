package mangopay_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/internal/simtest"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/mangopaysim/sandbox"
)

func TestListUsersPages(t *testing.T) {
	s := simtest.Start(t, sandbox.Config{Settings: simtest.FastSettings()})
	ctx := context.Background()
	var made []string
	for range 3 {
		u, err := s.Client.CreateNaturalUserSCA(ctx, simtest.NaturalOwner())
		require.NoError(t, err)
		made = append(made, u.ID)
	}
	payer, err := s.Client.CreateNaturalUserSCA(ctx, simtest.NaturalPayer())
	require.NoError(t, err)
	made = append(made, payer.ID)

	var got []mangopay.User
	for page := 1; ; page++ {
		list, pg, err := s.Client.ListUsers(ctx, &mangopay.ListOptions{Page: page, PerPage: 2})
		require.NoError(t, err)
		got = append(got, list...)
		if page >= pg.TotalPages {
			break
		}
	}
	require.Len(t, got, 4)
	for i, u := range got {
		assert.Equal(t, made[i], u.ID, "oldest first")
	}
	assert.Equal(t, mangopay.UserCategoryPayer, got[3].UserCategory)
	assert.True(t, got[0].IsOwner())
}
