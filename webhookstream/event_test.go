package webhookstream_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/webhookstream"
)

// testNow is the clock of the parsing tests.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func TestParseWebhook(t *testing.T) {
	now := testNow.Unix()
	date := strconv.FormatInt(now-60, 10)
	long := strings.Repeat("a", 128)
	tests := []struct {
		name    string
		query   string
		want    webhookstream.MangopayEvent // when accepted
		wantErr error                       // ErrPing or ErrBadWebhook
		msg     string                      // part of the error message
	}{
		{name: "mangopay spelling", query: "EventType=IDENTITY_VERIFICATION_VALIDATED&RessourceId=idv_01&Date=" + date,
			want: ev("IDENTITY_VERIFICATION_VALIDATED", "idv_01", now-60)},
		{name: "ResourceId spelling", query: "EventType=KYC_SUCCEEDED&ResourceId=doc-7&Date=" + date,
			want: ev("KYC_SUCCEEDED", "doc-7", now-60)},
		{name: "both spellings agreeing", query: "EventType=USER_KYC_LIGHT&RessourceId=123&ResourceId=123&Date=" + date,
			want: ev("USER_KYC_LIGHT", "123", now-60)},
		{name: "unknown but well-formed type", query: "EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId=1&Date=" + date,
			want: ev("PAYIN_NORMAL_SUCCEEDED", "1", now-60)},
		{name: "parameters in any order", query: "Date=" + date + "&RessourceId=abc&EventType=KYC_FAILED",
			want: ev("KYC_FAILED", "abc", now-60)},
		{name: "resource id of 128", query: "EventType=KYC_FAILED&RessourceId=" + long + "&Date=" + date,
			want: ev("KYC_FAILED", long, now-60)},
		{name: "event type of 3", query: "EventType=A_1&RessourceId=1&Date=" + date, want: ev("A_1", "1", now-60)},
		{name: "event type of 100", query: "EventType=" + strings.Repeat("E", 100) + "&RessourceId=1&Date=" + date,
			want: ev(strings.Repeat("E", 100), "1", now-60)},
		{name: "date months ahead (a simulator whose clock was moved)", query: "EventType=KYC_FAILED&RessourceId=1&Date=" + strconv.FormatInt(now+400*86400, 10),
			want: ev("KYC_FAILED", "1", now+400*86400)},
		{name: "unrelated parameters ignored", query: "EventType=KYC_FAILED&RessourceId=1&Date=" + date + "&Foo=bar",
			want: ev("KYC_FAILED", "1", now-60)},

		// Mangopay's Dashboard ping.
		{name: "ping: empty RessourceId", query: "EventType=PING&RessourceId=&Date=" + date, wantErr: webhookstream.ErrPing},
		{name: "ping: no parameters at all", query: "", wantErr: webhookstream.ErrPing},
		{name: "ping: both spellings empty", query: "RessourceId=&ResourceId=", wantErr: webhookstream.ErrPing},

		// EventType.
		{name: "event type missing", query: "RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "EventType"},
		{name: "event type lower case", query: "EventType=kyc_failed&RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "EventType"},
		{name: "event type starting with a digit", query: "EventType=1KYC&RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "EventType"},
		{name: "event type starting with _", query: "EventType=_KYC&RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "EventType"},
		{name: "event type too short", query: "EventType=AB&RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "EventType"},
		{name: "event type too long", query: "EventType=" + strings.Repeat("E", 101) + "&RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "EventType"},
		{name: "event type with a dash", query: "EventType=KYC-FAILED&RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "EventType"},
		{name: "event type with a space", query: "EventType=KYC+FAILED&RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "EventType"},
		{name: "event type with unicode", query: "EventType=KYC_%C3%89CHEC&RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "EventType"},

		// Resource id.
		{name: "spellings disagree", query: "EventType=KYC_FAILED&RessourceId=1&ResourceId=2&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "disagree"},
		{name: "resource id too long", query: "EventType=KYC_FAILED&RessourceId=" + long + "a&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "RessourceId"},
		{name: "resource id with a slash", query: "EventType=KYC_FAILED&RessourceId=..%2Fetc&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "RessourceId"},
		{name: "resource id with a space", query: "EventType=KYC_FAILED&RessourceId=a+b&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "RessourceId"},
		{name: "resource id with a pipe", query: "EventType=KYC_FAILED&RessourceId=a%7Cb&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "RessourceId"},
		{name: "resource id with a NUL", query: "EventType=KYC_FAILED&RessourceId=a%00&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "RessourceId"},
		{name: "resource id with a newline", query: "EventType=KYC_FAILED&ResourceId=a%0Ab&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "RessourceId"},

		// Date.
		{name: "date missing", query: "EventType=KYC_FAILED&RessourceId=1", wantErr: webhookstream.ErrBadWebhook, msg: "Date"},
		{name: "date empty", query: "EventType=KYC_FAILED&RessourceId=1&Date=", wantErr: webhookstream.ErrBadWebhook, msg: "Date"},
		{name: "date not an integer", query: "EventType=KYC_FAILED&RessourceId=1&Date=yesterday", wantErr: webhookstream.ErrBadWebhook, msg: "Date"},
		{name: "date with a fraction", query: "EventType=KYC_FAILED&RessourceId=1&Date=1700000000.5", wantErr: webhookstream.ErrBadWebhook, msg: "Date"},
		{name: "date in milliseconds", query: "EventType=KYC_FAILED&RessourceId=1&Date=" + strconv.FormatInt(now*1000, 10), wantErr: webhookstream.ErrBadWebhook, msg: "Date"},
		{name: "date overflowing int64", query: "EventType=KYC_FAILED&RessourceId=1&Date=99999999999999999999", wantErr: webhookstream.ErrBadWebhook, msg: "Date"},
		{name: "date negative", query: "EventType=KYC_FAILED&RessourceId=1&Date=-1", wantErr: webhookstream.ErrBadWebhook, msg: "Date"},
		{name: "date too old", query: "EventType=KYC_FAILED&RessourceId=1&Date=1262303999", wantErr: webhookstream.ErrBadWebhook, msg: "Date"},
		{name: "date more than 400 days ahead", query: "EventType=KYC_FAILED&RessourceId=1&Date=" + strconv.FormatInt(now+400*86400+1, 10), wantErr: webhookstream.ErrBadWebhook, msg: "Date"},

		// Repeated parameters: which one would be the real one?
		{name: "EventType repeated", query: "EventType=KYC_FAILED&EventType=KYC_SUCCEEDED&RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "EventType is given 2 times"},
		{name: "RessourceId repeated", query: "EventType=KYC_FAILED&RessourceId=1&RessourceId=1&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "RessourceId is given 2 times"},
		{name: "ResourceId repeated", query: "EventType=KYC_FAILED&ResourceId=1&ResourceId=2&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "ResourceId is given 2 times"},
		{name: "Date repeated", query: "EventType=KYC_FAILED&RessourceId=1&Date=" + date + "&Date=" + date, wantErr: webhookstream.ErrBadWebhook, msg: "Date is given 2 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			require.NoError(t, err, "test query")
			got, err := webhookstream.ParseWebhook(q, testNow)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr, "ParseWebhook(%q)", tt.query)
				assert.Contains(t, err.Error(), tt.msg, "the message should name the problem")
				return
			}
			require.NoError(t, err, "ParseWebhook(%q)", tt.query)
			assert.Equal(t, tt.want, got)
		})
	}
}

// ev is an accepted event with its key.
func ev(eventType, resourceID string, date int64) webhookstream.MangopayEvent {
	e := webhookstream.MangopayEvent{EventType: mangopay.EventType(eventType), ResourceID: resourceID, Date: date}
	e.EventKey = eventType + "|" + resourceID + "|" + strconv.FormatInt(date, 10)
	return e
}
