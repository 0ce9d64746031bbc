package webhookstream_test

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kycflow/kycflow/webhookstream"
)

var (
	eventTypeShape  = regexp.MustCompile(`^[A-Z][A-Z0-9_]{2,99}$`)
	resourceIDShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	earliest        = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
)

// FuzzParseWebhook feeds raw query strings through the parsing the intake
// does (the router's URL.Query() discards url.ParseQuery's error and keeps
// what parsed). Seeds: testdata/fuzz/FuzzParseWebhook and the f.Add calls.
// Run it with
//
//	go test -run '^$' -fuzz FuzzParseWebhook -fuzztime 60s ./webhookstream/
func FuzzParseWebhook(f *testing.F) {
	date := strconv.FormatInt(testNow.Unix()-10, 10)
	for _, seed := range []string{
		"EventType=IDENTITY_VERIFICATION_VALIDATED&RessourceId=idv_1&Date=" + date,
		"EventType=KYC_OUTDATED&ResourceId=doc-1&Date=" + date,
		"EventType=USER_KYC_LIGHT&RessourceId=1&ResourceId=1&Date=" + date,
		"EventType=USER_KYC_LIGHT&RessourceId=1&ResourceId=2&Date=" + date,
		"RessourceId=&ResourceId=",
		"EventType=A&RessourceId=" + strings.Repeat("r", 129) + "&Date=" + date,
		"EventType=KYC_FAILED&RessourceId=1&Date=-9223372036854775808",
		"EventType=KYC_FAILED&RessourceId=1&Date=" + date + "&Date=" + date,
		"EventType=KYC_FAILED&RessourceId=%&Date=" + date,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		ev, err := webhookstream.ParseWebhook(q, testNow)
		if err != nil {
			if !errors.Is(err, webhookstream.ErrPing) && !errors.Is(err, webhookstream.ErrBadWebhook) {
				t.Fatalf("ParseWebhook(%q): error %v is neither ErrPing nor ErrBadWebhook", raw, err)
			}
			if errors.Is(err, webhookstream.ErrPing) && (first(q, "RessourceId") != "" || first(q, "ResourceId") != "") {
				t.Fatalf("ParseWebhook(%q): a ping must have no resource id", raw)
			}
			return
		}
		if !eventTypeShape.MatchString(string(ev.EventType)) {
			t.Fatalf("ParseWebhook(%q) accepted EventType %q", raw, ev.EventType)
		}
		if !resourceIDShape.MatchString(ev.ResourceID) {
			t.Fatalf("ParseWebhook(%q) accepted ResourceId %q", raw, ev.ResourceID)
		}
		// The parser's own window: the simulator's clock may run months ahead.
		if ev.Date < earliest || ev.Date > testNow.Add(webhookstream.MaxDateAhead).Unix() {
			t.Fatalf("ParseWebhook(%q) accepted Date %d", raw, ev.Date)
		}
		if want := string(ev.EventType) + "|" + ev.ResourceID + "|" + strconv.FormatInt(ev.Date, 10); ev.EventKey != want {
			t.Fatalf("ParseWebhook(%q): EventKey %q, want %q", raw, ev.EventKey, want)
		}
		if strings.Count(ev.EventKey, "|") != 2 {
			t.Fatalf("ParseWebhook(%q): EventKey %q is ambiguous", raw, ev.EventKey)
		}
		// What was accepted is what was sent, once, under one of the names.
		if q.Get("EventType") != string(ev.EventType) || len(q["EventType"]) != 1 {
			t.Fatalf("ParseWebhook(%q): EventType %q is not the one sent", raw, ev.EventType)
		}
		if first(q, "RessourceId") != ev.ResourceID && first(q, "ResourceId") != ev.ResourceID {
			t.Fatalf("ParseWebhook(%q): ResourceId %q is not the one sent", raw, ev.ResourceID)
		}
		// The canonical form of an accepted event parses back to it.
		back, err := webhookstream.ParseWebhook(url.Values{
			"EventType": {string(ev.EventType)}, "RessourceId": {ev.ResourceID}, "Date": {strconv.FormatInt(ev.Date, 10)},
		}, testNow)
		if err != nil || back != ev {
			t.Fatalf("ParseWebhook(%q) = %+v, but its canonical form parses to %+v, %v", raw, ev, back, err)
		}
	})
}

func first(q url.Values, k string) string {
	if vs := q[k]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
