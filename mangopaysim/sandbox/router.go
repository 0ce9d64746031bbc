package sandbox

import "strings"

// router matches Mangopay's paths the way the live API does: literal segments
// case-insensitively (the SDKs send both /kyc/ and /KYC/), an optional
// trailing slash, and IDs kept exactly as sent (they are case-sensitive).
type router[H any] struct {
	routes []route[H]
}

type route[H any] struct {
	pattern  string
	method   string
	segments []string // "{name}" captures a segment
	handle   H
}

// params holds the captured path segments of a matched route.
type params map[string]string

func (rt *router[H]) add(method, pattern string, h H) {
	rt.routes = append(rt.routes, route[H]{pattern: pattern, method: method, segments: split(pattern), handle: h})
}

func split(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	return strings.Split(path, "/")
}

// match finds the route for r. found reports whether the path exists at all,
// so that a wrong method can be told apart from an unknown path.
func (rt *router[H]) match(method, path string) (h H, p params, pattern string, matched, found bool) {
	segs := split(path)
	for _, ro := range rt.routes {
		cand, ok := ro.bind(segs)
		if !ok {
			continue
		}
		found = true
		if ro.method == method {
			return ro.handle, cand, ro.pattern, true, true
		}
	}
	return h, nil, "", false, found
}

func (ro route[H]) bind(segs []string) (params, bool) {
	if len(segs) != len(ro.segments) {
		return nil, false
	}
	var p params
	for i, want := range ro.segments {
		if strings.HasPrefix(want, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if p == nil {
				p = params{}
			}
			p[want[1:len(want)-1]] = segs[i]
			continue
		}
		if !strings.EqualFold(want, segs[i]) {
			return nil, false
		}
	}
	return p, true
}
