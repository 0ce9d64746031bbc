package sandbox

import (
	"net/http"
	"net/url"
)

// hook is a webhook registration: one per EventType.
type hook struct {
	ID           string  `json:"Id"`
	Tag          *string `json:"Tag"`
	CreationDate int64   `json:"CreationDate"`
	URL          string  `json:"Url"`
	Status       string  `json:"Status"`
	Validity     string  `json:"Validity"`
	EventType    string  `json:"EventType"`

	failures int // consecutive failed deliveries
}

func validHookURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(raw) <= 255
}

type hookBody struct {
	EventType *string `json:"EventType"`
	URL       *string `json:"Url"`
	Tag       *string `json:"Tag"`
	Status    *string `json:"Status"`
	Validity  *string `json:"Validity"`
}

func (s *Sandbox) createHook(req apiRequest) reply {
	var b hookBody
	if bad, ok := s.decodeBody(req.body, &b); !ok {
		return bad
	}
	fe := fieldErrors{}
	if b.EventType == nil || !knownEventTypes[*b.EventType] {
		fe["EventType"] = "The EventType field is required and must be a Mangopay event type."
	}
	if b.URL == nil || !validHookURL(*b.URL) {
		fe["Url"] = "The Url field is required and must be an http or https URL of at most 255 characters."
	}
	fe.maxLen("Tag", b.Tag, 255)
	if len(fe) > 0 {
		return s.paramError(fe)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.st.hookByEvent[*b.EventType]; dup {
		return s.paramError(map[string]string{"EventType": "A hook has already been registered for this EventType"})
	}
	now := s.clock.Now()
	h := &hook{
		ID: s.ids.ulid("hook_m_", now), Tag: b.Tag, CreationDate: now.Unix(), URL: *b.URL,
		Status: "ENABLED", Validity: "VALID", EventType: *b.EventType,
	}
	s.st.hooks[h.ID] = h
	s.st.hookByEvent[h.EventType] = h
	s.st.hookOrder = append(s.st.hookOrder, h)
	return ok(*h)
}

func (s *Sandbox) getHook(req apiRequest) reply {
	id := req.p["hookId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	h, found := s.st.hooks[id]
	if !found {
		return s.notFound("Hook", id)
	}
	return ok(*h)
}

func (s *Sandbox) listHooks(req apiRequest) reply {
	s.mu.Lock()
	items := make([]hook, 0, len(s.st.hookOrder))
	for _, h := range s.st.hookOrder {
		items = append(items, *h)
	}
	s.mu.Unlock()
	return listReply(items, req.r, s)
}

// updateHook changes Url, Status, Tag or Validity. Re-enabling a hook or
// setting Validity to VALID revives an INVALID hook, the two ways the
// documentation describes.
func (s *Sandbox) updateHook(req apiRequest) reply {
	var b hookBody
	if bad, ok := s.decodeBody(req.body, &b); !ok {
		return bad
	}
	fe := fieldErrors{}
	if b.URL != nil && !validHookURL(*b.URL) {
		fe["Url"] = "The Url field must be an http or https URL of at most 255 characters."
	}
	if b.Status != nil && *b.Status != "ENABLED" && *b.Status != "DISABLED" {
		fe["Status"] = "The Status field must be ENABLED or DISABLED."
	}
	if b.Validity != nil && *b.Validity != "VALID" {
		fe["Validity"] = "The Validity field can only be set to VALID."
	}
	fe.maxLen("Tag", b.Tag, 255)
	if len(fe) > 0 {
		return s.paramError(fe)
	}
	id := req.p["hookId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	h, found := s.st.hooks[id]
	if !found {
		return s.notFound("Hook", id)
	}
	// SDKs send the whole hook back; only a different EventType is an error.
	if b.EventType != nil && *b.EventType != h.EventType {
		return s.paramError(map[string]string{"EventType": "The EventType of a hook cannot be changed."})
	}
	if b.URL != nil {
		h.URL = *b.URL // the failure counter is kept: a new Url does not reset it
	}
	if b.Tag != nil {
		h.Tag = b.Tag
	}
	if b.Status != nil {
		if *b.Status == "ENABLED" && h.Status == "DISABLED" {
			h.Validity, h.failures = "VALID", 0
		}
		h.Status = *b.Status
	}
	if b.Validity != nil {
		h.Validity, h.failures = "VALID", 0
	}
	return reply{status: http.StatusOK, body: *h}
}
