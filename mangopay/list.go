package mangopay

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Default pagination of list endpoints.
const (
	defaultPage    = 1
	defaultPerPage = 10
)

// ListOptions are the paging and sorting parameters common to list
// endpoints. Zero values are not sent, so Mangopay's defaults apply (page 1,
// 10 items per page, at most 100).
type ListOptions struct {
	// Page is the 1-based page number (query "page").
	Page int
	// PerPage is the page size (query "per_page").
	PerPage int
	// Sort is a sort expression such as "CreationDate:DESC" (query "Sort").
	Sort string
}

// values adds the options to q.
func (o *ListOptions) values(q url.Values) {
	if o == nil {
		return
	}
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(o.PerPage))
	}
	if o.Sort != "" {
		q.Set("Sort", o.Sort)
	}
}

// Pagination describes the page a list call returned.
type Pagination struct {
	// Page is the page that was requested (1 by default).
	Page int
	// PerPage is the page size that was requested (10 by default).
	PerPage int
	// TotalPages is X-Number-Of-Pages; 0 when absent.
	TotalPages int
	// TotalItems is X-Number-Of-Items; 0 when absent.
	TotalItems int
	// Links are the URLs of the Link header by relation (first, prev, next,
	// last); nil when absent.
	Links map[string]string
}

// HasNext reports whether a page follows this one.
func (p *Pagination) HasNext() bool {
	return p != nil && p.Page < p.TotalPages
}

// newPagination builds the Pagination of a list response.
func newPagination(h http.Header, o *ListOptions) *Pagination {
	p := &Pagination{Page: defaultPage, PerPage: defaultPerPage}
	if o != nil && o.Page > 0 {
		p.Page = o.Page
	}
	if o != nil && o.PerPage > 0 {
		p.PerPage = o.PerPage
	}
	p.TotalPages, _ = strconv.Atoi(h.Get("X-Number-Of-Pages"))
	p.TotalItems, _ = strconv.Atoi(h.Get("X-Number-Of-Items"))
	p.Links = parseLinks(h.Values("Link"))
	return p
}

// parseLinks reads RFC 8288 Link headers (`<url>; rel="next", …`) into
// relation -> URL, skipping malformed parts.
func parseLinks(values []string) map[string]string {
	var out map[string]string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			target, params, found := strings.Cut(strings.TrimSpace(part), ";")
			target = strings.TrimSpace(target)
			if !found || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, param := range strings.Split(params, ";") {
				name, value, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
					continue
				}
				// The docs show typographic quotes around rel values.
				rel := strings.Trim(strings.TrimSpace(value), "\"“”")
				if out == nil {
					out = map[string]string{}
				}
				for _, r := range strings.Fields(rel) {
					out[strings.ToLower(r)] = target[1 : len(target)-1]
				}
			}
		}
	}
	return out
}

// setUnix sets query parameter name to t as Unix seconds, if t is not nil.
func setUnix(q url.Values, name string, t *time.Time) {
	if t != nil {
		q.Set(name, strconv.FormatInt(t.Unix(), 10))
	}
}
