package sandbox_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// form is what a browser without JavaScript would submit from a page.
type form struct {
	action string
	values url.Values
	fields []string // fieldset data-check values, in page order
	deps   map[string]string
}

// parseForm reads the #outcome form: hidden inputs, the checked radio of each
// group and the first option of each select.
func parseForm(t *testing.T, page string) form {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	f := form{values: url.Values{}, deps: map[string]string{}}
	attr := func(n *html.Node, key string) string {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val
			}
		}
		return ""
	}
	has := func(n *html.Node, key string) bool {
		for _, a := range n.Attr {
			if a.Key == key {
				return true
			}
		}
		return false
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				if attr(n, "id") == "outcome" {
					f.action = attr(n, "action")
				}
			case "fieldset":
				if c := attr(n, "data-check"); c != "" {
					f.fields = append(f.fields, c)
					f.deps[c] = attr(n, "data-depends-on")
				}
			case "input":
				if typ := attr(n, "type"); typ == "hidden" || typ == "text" || (typ == "radio" && has(n, "checked")) {
					f.values.Set(attr(n, "name"), attr(n, "value"))
				}
			case "select":
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && c.Data == "option" {
						f.values.Set(attr(n, "name"), attr(c, "value"))
						break
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return f
}

func (e *simEnv) get(rawURL string) (int, string) {
	e.t.Helper()
	res, err := e.srv.Client().Get(rawURL)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return res.StatusCode, string(b)
}

// post submits a form without following the redirect.
func (e *simEnv) post(action string, v url.Values) *http.Response {
	e.t.Helper()
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.PostForm(e.srv.URL+action, v)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestHostedPageForm(t *testing.T) {
	e := newEnv(t, fastSettings())
	sess := e.session(e.natural())
	hosted, id := sess["HostedUrl"].(string), sess["Id"].(string)
	require.True(t, strings.HasPrefix(hosted, e.srv.URL+"/idv/"))

	status, page := e.get(hosted)
	require.Equal(t, http.StatusOK, status)
	f := parseForm(t, page)
	assert.Equal(t, []string{"IDENTITY_DOCUMENT_VERIFICATION", "IDV_NAME_MATCH_CHECK", "IDV_AGE_CHECK"}, f.fields)
	assert.Equal(t, "IDENTITY_DOCUMENT_VERIFICATION", f.deps["IDV_AGE_CHECK"])
	require.NotEmpty(t, f.action)

	// The person refuses the ID document. Without JavaScript the browser
	// still sends the name and age checks; they are not performed.
	f.values.Set("check.IDENTITY_DOCUMENT_VERIFICATION", "REFUSED")
	f.values.Set("reason.IDENTITY_DOCUMENT_VERIFICATION", "DOCUMENT_HAS_EXPIRED")
	res := e.post(f.action, f.values)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "https://example.com/back", res.Header.Get("Location"), "the page sends the user back to the ReturnUrl")

	view := e.api("GET", "/identity-verifications/"+id, nil).json()
	assert.Equal(t, "REFUSED", view["Status"])
	assert.Equal(t, map[string]string{"IDENTITY_DOCUMENT_VERIFICATION": "REFUSED"}, checkStatuses(view))
	reason := view["Checks"].([]any)[0].(map[string]any)["Reasons"].([]any)[0].(map[string]any)
	assert.Equal(t, "DOCUMENT_HAS_EXPIRED", reason["Type"])

	t.Run("a submitted session shows its state and refuses a second submission", func(t *testing.T) {
		_, page := e.get(hosted)
		assert.Contains(t, page, "can no longer be submitted")
		assert.Empty(t, parseForm(t, page).fields)
		assert.Equal(t, http.StatusConflict, e.post(f.action, f.values).StatusCode)
	})
	t.Run("unknown session", func(t *testing.T) {
		status, _ := e.get(strings.Replace(hosted, "sessionId=", "sessionId=ff", 1))
		assert.Equal(t, http.StatusNotFound, status)
	})
	t.Run("bad values are rejected with the reason on the page", func(t *testing.T) {
		other := e.session(e.natural())
		_, page := e.get(other["HostedUrl"].(string))
		g := parseForm(t, page)
		g.values.Set("check.IDV_AGE_CHECK", "MAYBE")
		res := e.post(g.action, g.values)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		b, _ := io.ReadAll(res.Body)
		assert.Contains(t, string(b), "status must be VALIDATED or REFUSED")
	})
}

func TestHostedPageLegalReview(t *testing.T) {
	e := newEnv(t, fastSettings())
	sess := e.session(e.legal("SOLETRADER"))
	_, page := e.get(sess["HostedUrl"].(string))
	f := parseForm(t, page)
	assert.Equal(t, []string{"BUSINESS_VERIFICATION", "BUSINESS_NAME_MATCH", "IDENTITY_DOCUMENT_VERIFICATION", "IDV_NAME_MATCH_CHECK", "IDV_AGE_CHECK"}, f.fields)
	f.values.Set("check.BUSINESS_NAME_MATCH", "REFUSED")
	f.values.Set("reason.BUSINESS_NAME_MATCH", "BUSINESS_NAME_MATCH_FAILED")
	require.Equal(t, http.StatusSeeOther, e.post(f.action, f.values).StatusCode)
	view := e.api("GET", "/identity-verifications/"+sess["Id"].(string), nil).json()
	assert.Equal(t, "REVIEW", view["Status"], "ID passes, a business check fails: manual review")
}

func TestHostedPageLanguage(t *testing.T) {
	e := newEnv(t, fastSettings())
	res := e.api("POST", "/users/"+e.natural()+"/identity-verifications", map[string]any{"ReturnUrl": "https://example.com/back", "SessionLanguage": "nl-NL"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	status, page := e.get(res.json()["HostedUrl"].(string))
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, `<html lang="nl-NL">`)
	assert.Contains(t, page, `<strong id="session-language">nl-NL</strong>`)
}
