package mangopay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	// tokenRenewBefore is how long before its expiry a token is renewed, as
	// Mangopay recommends.
	tokenRenewBefore = 30 * time.Second
	// tokenFetchTimeout bounds one call to the token endpoint, whatever the
	// HTTP client's own timeout.
	tokenFetchTimeout = 30 * time.Second
	// logMsgToken is the message of the debug record written per token fetch.
	logMsgToken = "mangopay oauth token fetched"
)

// authenticator hands out OAuth access tokens. The caching and the
// single-flight renewal are oauth2.ReuseTokenSource's; the authenticator only
// swaps that source for a fresh one when Mangopay rejects the cached token.
type authenticator struct {
	fetcher oauth2.TokenSource // non-caching: every Token call hits the endpoint

	mu  sync.Mutex
	src oauth2.TokenSource // ReuseTokenSourceWithExpiry over fetcher
}

// newAuthenticator returns an authenticator fetching tokens from tokenURL
// with HTTP Basic credentials clientID:apiKey through hc.
func newAuthenticator(tokenURL, clientID, apiKey string, hc *http.Client, logger *slog.Logger) *authenticator {
	fetcher := &fetchTokenSource{
		conf: &clientcredentials.Config{
			ClientID:     clientID,
			ClientSecret: apiKey,
			TokenURL:     tokenURL,
			AuthStyle:    oauth2.AuthStyleInHeader,
		},
		ctx: context.WithValue(context.Background(), oauth2.HTTPClient, hc),
		log: logger,
	}
	return &authenticator{
		fetcher: fetcher,
		src:     oauth2.ReuseTokenSourceWithExpiry(nil, fetcher, tokenRenewBefore),
	}
}

// current returns the token source in use.
func (a *authenticator) current() oauth2.TokenSource {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.src
}

// token returns a valid access token and the source it came from, fetching
// one if needed.
func (a *authenticator) token(ctx context.Context) (*oauth2.Token, oauth2.TokenSource, error) {
	src := a.current()
	tok, err := tokenWithContext(ctx, src)
	if err != nil {
		return nil, nil, err
	}
	return tok, src, nil
}

// invalidate drops failed, a token Mangopay rejected, so that the next call
// to token fetches a new one. It replaces the source only if failed is still
// the token src caches: when several requests fail with the same token at
// once, only the first replacement happens and all of them share the single
// token fetched by the new source.
func (a *authenticator) invalidate(ctx context.Context, src oauth2.TokenSource, failed *oauth2.Token) error {
	cached, err := tokenWithContext(ctx, src)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.src == src && cached.AccessToken == failed.AccessToken {
		a.src = oauth2.ReuseTokenSourceWithExpiry(nil, a.fetcher, tokenRenewBefore)
	}
	return nil
}

// tokenWithContext calls src.Token but gives up when ctx ends.
// oauth2.TokenSource has no context parameter and ReuseTokenSource holds a
// mutex during a fetch, so the call runs in its own goroutine; an abandoned
// fetch still completes (bounded by tokenFetchTimeout) and its token is
// cached for the next caller.
func tokenWithContext(ctx context.Context, src oauth2.TokenSource) (*oauth2.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fetch oauth token: %w", err)
	}
	type result struct {
		tok *oauth2.Token
		err error
	}
	ch := make(chan result, 1)
	go func() {
		tok, err := src.Token()
		ch <- result{tok, err}
	}()
	select {
	case r := <-ch:
		return r.tok, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch oauth token: %w", ctx.Err())
	}
}

// fetchTokenSource fetches a new token on every call; it is wrapped by
// oauth2.ReuseTokenSourceWithExpiry, which does the caching.
type fetchTokenSource struct {
	conf *clientcredentials.Config
	ctx  context.Context // carries the HTTP client under oauth2.HTTPClient
	log  *slog.Logger
}

// Token implements oauth2.TokenSource.
func (s *fetchTokenSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(s.ctx, tokenFetchTimeout)
	defer cancel()
	start := time.Now()
	tok, err := s.conf.Token(ctx)
	if err != nil {
		return nil, tokenError(err)
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, logMsgToken,
		slog.Duration("duration", time.Since(start)),
		slog.Time("expiry", tok.Expiry),
	)
	return tok, nil
}

// tokenError turns a token endpoint failure into an *Error when the endpoint
// answered, and wraps transport failures.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		apiErr := parseError(re.Response.StatusCode, re.Body)
		if re.Response.StatusCode == http.StatusTooManyRequests {
			// The token endpoint counts in the same windows: wait for the reset.
			now := time.Now()
			limits, _ := parseRateLimits(re.Response.Header, now)
			return fmt.Errorf("fetch oauth token: %w", rateLimited(apiErr, limits, now))
		}
		return fmt.Errorf("fetch oauth token: %w", apiErr)
	}
	return fmt.Errorf("fetch oauth token: %w", err)
}
