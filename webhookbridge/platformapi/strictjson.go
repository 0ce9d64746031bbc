package platformapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// maxJSONBody caps a platform API JSON body.
const maxJSONBody = 64 << 10

// jsonFieldError is a body error about one field, named as the API names
// it (or as sent, for a field the API does not have).
type jsonFieldError struct {
	Field string
	Msg   string
}

func (e *jsonFieldError) Error() string { return e.Msg }

// decodeStrict decodes one JSON object into v (a pointer to a struct with
// json tags) more strictly than encoding/json: exactly one object and
// nothing after it, keys spelt exactly as the tags (encoding/json would
// take "userid" for UserId), no key twice (encoding/json keeps the last),
// and no unknown key. Errors about a field are *jsonFieldError.
func decodeStrict(data []byte, v any) error {
	fields := jsonFields(v)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid JSON body: %w", syntaxMsg(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("the body must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("invalid JSON body: %w", syntaxMsg(err))
		}
		key, _ := tok.(string)
		switch {
		case fields[key]:
		case canonical(fields, key) != "":
			return &jsonFieldError{Field: canonical(fields, key), Msg: fmt.Sprintf("unknown field %q: field names are case-sensitive, did you mean %q?", key, canonical(fields, key))}
		default:
			return &jsonFieldError{Field: key, Msg: fmt.Sprintf("unknown field %q", key)}
		}
		if seen[key] {
			return &jsonFieldError{Field: key, Msg: fmt.Sprintf("field %q appears more than once", key)}
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("invalid JSON body: %w", syntaxMsg(err))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fmt.Errorf("invalid JSON body: %w", syntaxMsg(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("invalid JSON body: unexpected data after the JSON object")
	}
	if err := json.Unmarshal(data, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return &jsonFieldError{Field: typeErr.Field, Msg: fmt.Sprintf("field %q must be a JSON %s", typeErr.Field, typeErr.Type.Kind())}
		}
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}

// syntaxMsg keeps encoding/json's syntax errors and names an unexpected
// end of the body.
func syntaxMsg(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of the body")
	}
	return err
}

// jsonFields lists the JSON names of the struct v points to.
func jsonFields(v any) map[string]bool {
	t := reflect.TypeOf(v).Elem()
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = true
	}
	return out
}

// canonical is the field name key matches but for case, if any.
func canonical(fields map[string]bool, key string) string {
	for f := range fields {
		if strings.EqualFold(f, key) {
			return f
		}
	}
	return ""
}
