package sandbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds Debian's Chromium, or skips saying how to get it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("Chromium is not installed, so the browser test of the hosted page cannot run: apt-get install chromium (.ci/run does)")
	return ""
}

// TestHostedPageInChromium opens a HostedUrl in headless Chromium, checks the
// Sandbox's conditional logic in the page, completes it and lands on the
// ReturnUrl.
func TestHostedPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	exe := chromium(t)
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<html><body><h1 id="welcome">Welcome back</h1></body></html>`))
	}))
	t.Cleanup(platform.Close)

	e := newEnv(t, fastSettings())
	userID := e.natural()
	res := e.api("POST", "/users/"+userID+"/identity-verifications", map[string]any{"ReturnUrl": platform.URL + "/kyc/done"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	sess := res.json()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)

	refuseID := `input[name="check.IDENTITY_DOCUMENT_VERIFICATION"][value="REFUSED"]`
	validateID := `input[name="check.IDENTITY_DOCUMENT_VERIFICATION"][value="VALIDATED"]`
	var disabledAfterRefuse, disabledAfterValidate bool
	var landed, heading string
	err := chromedp.Run(ctx,
		chromedp.Navigate(sess["HostedUrl"].(string)),
		chromedp.WaitVisible(`#submit`, chromedp.ByQuery),
		chromedp.Click(refuseID, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('fs-IDV_NAME_MATCH_CHECK').disabled`, &disabledAfterRefuse),
		chromedp.Click(validateID, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('fs-IDV_NAME_MATCH_CHECK').disabled`, &disabledAfterValidate),
		chromedp.Click(`#submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#welcome`, chromedp.ByQuery),
		chromedp.Location(&landed),
		chromedp.Text(`#welcome`, &heading, chromedp.ByQuery),
	)
	require.NoError(t, err)
	assert.True(t, disabledAfterRefuse, "name match is not performed when the ID document is refused")
	assert.False(t, disabledAfterValidate)
	assert.Equal(t, platform.URL+"/kyc/done", landed)
	assert.Equal(t, "Welcome back", heading)

	view := e.api("GET", "/identity-verifications/"+sess["Id"].(string), nil).json()
	assert.Equal(t, "VALIDATED", view["Status"])
	assert.Equal(t, "REGULAR", e.api("GET", "/sca/users/"+userID, nil).json()["KYCLevel"])
}
