package sandbox

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// kycDoc is a (legacy) KYC Document, still used for additional documents.
type kycDoc struct {
	ID                   string   `json:"Id"`
	Tag                  *string  `json:"Tag"`
	CreationDate         int64    `json:"CreationDate"`
	Type                 string   `json:"Type"`
	UserID               string   `json:"UserId"`
	Status               string   `json:"Status"`
	ProcessedDate        *int64   `json:"ProcessedDate"`
	RefusedReasonType    *string  `json:"RefusedReasonType"`
	RefusedReasonMessage *string  `json:"RefusedReasonMessage"`
	Flags                []string `json:"Flags"`

	pages int
}

var kycTypes = []string{"IDENTITY_PROOF", "REGISTRATION_PROOF", "ARTICLES_OF_ASSOCIATION", "SHAREHOLDER_DECLARATION", "ADDRESS_PROOF"}

// kycTagOutcomes are the Sandbox's Tag rules: the Tag given at creation
// decides the outcome after submission. Other tags leave the document
// waiting in VALIDATION_ASKED, like a real manual review.
var kycTagOutcomes = map[string]string{
	"accept":                    "",
	"refuse_unreadable":         "DOCUMENT_UNREADABLE",
	"refuse_not_accepted":       "DOCUMENT_NOT_ACCEPTED",
	"refuse_expired":            "DOCUMENT_HAS_EXPIRED",
	"refuse_incomplete":         "DOCUMENT_INCOMPLETE",
	"refuse_missing":            "DOCUMENT_MISSING",
	"refuse_no_user_data_match": "DOCUMENT_DO_NOT_MATCH_USER_DATA",
	"refuse_falsified":          "DOCUMENT_FALSIFIED",
	"refuse_underage":           "UNDERAGE_PERSON",
	"refuse_specific_case":      "SPECIFIC_CASE",
}

// Page limits from the documentation.
const (
	maxPages            = 5
	minIdentityPageSize = 32 << 10
	minPageSize         = 1 << 10
	maxPageSize         = 7 << 20  // "about 7 MB"
	maxEncodedPageSize  = 10 << 20 // "10 MB when Base64 encoded"
)

// kycTypeAllowed applies the type/user-type compatibility rules of the API
// reference: ADDRESS_PROOF is for natural users only, unless
// addressProofForLegal (the hosted guide's reading) allows it.
func kycTypeAllowed(u *user, typ string, addressProofForLegal bool) (string, bool) {
	legalOnly := typ == "REGISTRATION_PROOF" || typ == "ARTICLES_OF_ASSOCIATION" || typ == "SHAREHOLDER_DECLARATION"
	switch {
	case u.PersonType == "NATURAL" && legalOnly:
		return fmt.Sprintf("%s cannot be submitted for NATURAL_PERSON user", typ), false
	case u.PersonType == "LEGAL" && typ == "ADDRESS_PROOF" && !addressProofForLegal:
		return fmt.Sprintf("ADDRESS_PROOF cannot be submitted for %s user", u.LegalPersonType), false
	case u.LegalPersonType == "SOLETRADER" && typ == "ARTICLES_OF_ASSOCIATION":
		return "ARTICLES_OF_ASSOCIATION cannot be submitted for SOLETRADER user", false
	}
	return "", true
}

type createDocBody struct {
	Type *string `json:"Type"`
	Tag  *string `json:"Tag"`
}

func (s *Sandbox) createDoc(req apiRequest) reply {
	var b createDocBody
	if bad, ok := s.decodeBody(req.body, &b); !ok {
		return bad
	}
	fe := fieldErrors{}
	if b.Type == nil || !slices.Contains(kycTypes, *b.Type) {
		fe["Type"] = "The Type field is required and must be one of " + strings.Join(kycTypes, ", ") + "."
	}
	fe.maxLen("Tag", b.Tag, 255)
	if len(fe) > 0 {
		return s.paramError(fe)
	}
	userID := req.p["userId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.st.users[userID]
	if !found {
		return s.notFound("User", userID)
	}
	if u.UserCategory != "OWNER" {
		return s.errorReply(http.StatusBadRequest, typeInvalidAction, "This feature is only available for users categorised as Owner.", nil)
	}
	if msg, allowed := kycTypeAllowed(u, *b.Type, s.settings.AddressProofForLegalUsers); !allowed {
		return s.paramError(map[string]string{"Type": msg})
	}
	now := s.clock.Now()
	d := &kycDoc{
		ID: s.ids.ulid("kyc_", now), Tag: b.Tag, CreationDate: now.Unix(), Type: *b.Type, UserID: u.ID,
		Status: "CREATED", Flags: []string{},
	}
	s.st.docs[d.ID] = d
	s.st.userDocs[u.ID] = append(s.st.userDocs[u.ID], d)
	s.emitLocked("KYC_CREATED", d.ID)
	return ok(*d)
}

// userDoc finds a document that belongs to the user in the path.
func (s *Sandbox) userDocLocked(req apiRequest) (*kycDoc, reply, bool) {
	userID, docID := req.p["userId"], req.p["docId"]
	if _, found := s.st.users[userID]; !found {
		return nil, s.notFound("User", userID), false
	}
	d, found := s.st.docs[docID]
	if !found || d.UserID != userID {
		return nil, s.notFound("KycDocument", docID), false
	}
	return d, reply{}, true
}

type pageBody struct {
	File *string `json:"File"`
}

func (s *Sandbox) addPage(req apiRequest) reply {
	var b pageBody
	if bad, ok := s.decodeBody(req.body, &b); !ok {
		return bad
	}
	if b.File == nil || *b.File == "" {
		return s.paramError(map[string]string{"File": "The File field is required."})
	}
	if len(*b.File) > maxEncodedPageSize {
		return s.errorReply(http.StatusRequestEntityTooLarge, typeParamError, msgParamError,
			map[string]string{"File": "The file is too large: at most 10 MB once Base64 encoded (about 7 MB)."})
	}
	raw, err := base64.StdEncoding.DecodeString(*b.File)
	if err != nil {
		return s.paramError(map[string]string{"File": "Invalid length for a Base-64 char array or string."})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, bad, found := s.userDocLocked(req)
	if !found {
		return bad
	}
	if d.Status != "CREATED" {
		return s.errorReply(http.StatusBadRequest, typeParamError, msgParamError,
			map[string]string{"KycDocumentId": "Pages can only be added to a document in CREATED status; this one is " + d.Status + "."})
	}
	if d.pages >= maxPages {
		return s.errorReply(http.StatusBadRequest, typeMaxPageNumber, "Maximum number of pages exceeded. You can only add up to 5 pages to this document", nil)
	}
	if !isPDF(raw) && !isJPEG(raw) && !isPNG(raw) {
		return s.errorReply(http.StatusUnsupportedMediaType, typeParamError, msgParamError,
			map[string]string{"File": "The file format is not supported: send a PDF, JPEG, JPG or PNG file."})
	}
	minSize := minPageSize
	if d.Type == "IDENTITY_PROOF" {
		minSize = minIdentityPageSize
	}
	if len(raw) < minSize {
		return s.paramError(map[string]string{"File": "The file is too small to be readable"})
	}
	if len(raw) > maxPageSize {
		return s.errorReply(http.StatusRequestEntityTooLarge, typeParamError, msgParamError,
			map[string]string{"File": "The file is too large: at most about 7 MB."})
	}
	d.pages++
	return noContent()
}

func isPDF(b []byte) bool  { return bytes.HasPrefix(b, []byte("%PDF-")) }
func isJPEG(b []byte) bool { return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) }
func isPNG(b []byte) bool  { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }

type submitDocBody struct {
	Status *string `json:"Status"`
	Tag    *string `json:"Tag"`
}

func (s *Sandbox) submitDoc(req apiRequest) reply {
	var b submitDocBody
	if bad, ok := s.decodeBody(req.body, &b); !ok {
		return bad
	}
	if b.Status == nil || *b.Status != "VALIDATION_ASKED" {
		return s.paramError(map[string]string{"Status": "The Status field is required and must be VALIDATION_ASKED."})
	}
	if fe := (fieldErrors{}); b.Tag != nil {
		if fe.maxLen("Tag", b.Tag, 255); len(fe) > 0 {
			return s.paramError(fe)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, bad, found := s.userDocLocked(req)
	if !found {
		return bad
	}
	if d.Status != "CREATED" {
		return s.paramError(map[string]string{"Status": "Only a document in CREATED status can be submitted; this one is " + d.Status + ". Create a new document to resubmit."})
	}
	if d.pages == 0 {
		return s.paramError(map[string]string{"Status": "A document needs at least one page before it can be submitted."})
	}
	if b.Tag != nil {
		d.Tag = b.Tag
	}
	d.Status = "VALIDATION_ASKED"
	s.emitLocked("KYC_VALIDATION_ASKED", d.ID)
	id := d.ID
	s.sched.At(s.clock.Now().Add(seconds(s.settings.KycProcessingDelaySeconds)), func() { s.processDoc(id) })
	return ok(*d)
}

// processDoc applies the Sandbox outcome of a submitted document.
// ADDRESS_PROOF is validated automatically, whatever its Tag.
func (s *Sandbox) processDoc(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, found := s.st.docs[id]
	if !found || d.Status != "VALIDATION_ASKED" {
		return
	}
	tag := ""
	if d.Tag != nil {
		tag = *d.Tag
	}
	reason, known := kycTagOutcomes[tag]
	if d.Type == "ADDRESS_PROOF" {
		reason, known = "", true
	}
	if !known {
		return
	}
	now := s.clock.Now().Unix()
	d.ProcessedDate = &now
	if reason != "" {
		msg := "Sandbox simulated refusal (Tag " + strconv.Quote(tag) + ")"
		d.Status, d.RefusedReasonType, d.RefusedReasonMessage = refused, &reason, &msg
		s.emitLocked("KYC_FAILED", d.ID)
		return
	}
	d.Status = validated
	s.emitLocked("KYC_SUCCEEDED", d.ID)
	// A validated identity proof is all a natural user needs to be REGULAR.
	if u := s.st.users[d.UserID]; u != nil && u.PersonType == "NATURAL" && d.Type == "IDENTITY_PROOF" && u.KYCLevel != "REGULAR" {
		s.verifiedLocked(u)
	}
}

func (s *Sandbox) getDoc(req apiRequest) reply {
	id := req.p["docId"]
	s.mu.Lock()
	defer s.mu.Unlock()
	d, found := s.st.docs[id]
	if !found {
		return s.notFound("KycDocument", id)
	}
	return ok(*d)
}

func (s *Sandbox) getUserDoc(req apiRequest) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, bad, found := s.userDocLocked(req)
	if !found {
		return bad
	}
	return ok(*d)
}

func (s *Sandbox) listDocs(req apiRequest) reply {
	q := req.r.URL.Query()
	statuses := splitList(queryFold(q, "Status"))
	types := splitList(queryFold(q, "Type"))
	before, errB := optUnix(queryFold(q, "BeforeDate"))
	after, errA := optUnix(queryFold(q, "AfterDate"))
	if errB != nil || errA != nil {
		return s.paramError(map[string]string{"BeforeDate/AfterDate": "Dates must be Unix timestamps in seconds."})
	}
	userID := req.p["userId"]
	s.mu.Lock()
	var docs []*kycDoc
	if userID == "" {
		for _, list := range s.st.userDocs {
			docs = append(docs, list...)
		}
		slices.SortFunc(docs, func(a, b *kycDoc) int { return strings.Compare(a.ID, b.ID) })
	} else {
		if _, found := s.st.users[userID]; !found {
			s.mu.Unlock()
			return s.notFound("User", userID)
		}
		docs = s.st.userDocs[userID]
	}
	items := []kycDoc{}
	for _, d := range docs {
		if (len(statuses) > 0 && !slices.Contains(statuses, d.Status)) || (len(types) > 0 && !slices.Contains(types, d.Type)) {
			continue
		}
		if (before != nil && d.CreationDate >= *before) || (after != nil && d.CreationDate <= *after) {
			continue
		}
		items = append(items, *d)
	}
	s.mu.Unlock()
	return listReply(items, req.r, s)
}

func splitList(v string) []string {
	if v == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func optUnix(v string) (*int64, error) {
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, err
	}
	return &n, nil
}
