package mangopay_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/kycflow/kycflow/mangopay"
)

// This example creates a hosted identity verification session for an OWNER
// user and prints the URL to redirect the user to. It needs Sandbox
// credentials in MANGOPAY_CLIENT_ID and MANGOPAY_API_KEY.
func ExampleClient_CreateIdentityVerification() {
	client, err := mangopay.New(mangopay.Config{
		BaseURL:  mangopay.SandboxURL,
		ClientID: os.Getenv("MANGOPAY_CLIENT_ID"),
		APIKey:   os.Getenv("MANGOPAY_API_KEY"),
	})
	if err != nil {
		log.Fatal(err)
	}

	userID := "user_m_01JF7AP1M46TR0JH7WBGPWK7D7"
	session, err := client.CreateIdentityVerification(context.Background(), userID, &mangopay.CreateIdentityVerificationParams{
		ReturnURL: "https://example.com/kyc/done",
		// Stable across retries of the same logical operation.
		IdempotencyKey: mangopay.DeriveIdempotencyKey("workflow-run-id", "activity-id"),
	})
	var apiErr *mangopay.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Type == mangopay.ErrTypeInvalidAction:
		log.Fatalf("user cannot be verified: %s", apiErr.Message)
	case mangopay.IsRetryable(err):
		log.Fatalf("try again later: %v", err)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println(session.Status, session.HostedURL)
}
