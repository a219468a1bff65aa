package pagerduty

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// openAPI is an OpenAPI 3.0 document decoded into plain JSON values, with
// the validator of the subset of its Schema Object that PagerDuty's REST
// reference uses in the parts vendored under testdata/openapi: $ref,
// allOf, oneOf, anyOf, type with nullable, enum, required, properties,
// additionalProperties, items, minItems, maxItems, uniqueItems, minLength, maxLength,
// minimum, maximum and format date-time. A keyword outside that subset is
// reported rather than ignored, so a refreshed document that starts using
// one cannot make the check silently weaker.
type openAPI struct {
	doc map[string]any
}

// annotations are the Schema Object's keywords that do not constrain a
// value. discriminator only names the property that tells oneOf's
// branches apart, which validating every branch does anyway; other
// formats than date-time (email, url, uri, time zones) are left to the
// answers' own tests.
var annotations = []string{"description", "title", "example", "examples", "default", "readOnly", "writeOnly", "deprecated", "discriminator", "externalDocs", "xml", "format"}

// loadOpenAPI reads an OpenAPI document in JSON.
func loadOpenAPI(path string) (*openAPI, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := decodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a JSON object", path)
	}
	return &openAPI{doc: m}, nil
}

// decodeJSON decodes b keeping numbers as json.Number, so integers and
// fractions stay apart.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

// resolve follows a local reference ("#/components/schemas/User"), with
// JSON Pointer's escapes (~1 for /, ~0 for ~).
func (o *openAPI) resolve(ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("reference %q is not local to the document", ref)
	}
	var cur any = o.doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("reference %q: no %q", ref, tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("reference %q: no item %q", ref, tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("reference %q: %q is inside a scalar", ref, tok)
		}
	}
	return cur, nil
}

// responseSchema is the schema of the JSON answer that the document
// gives the operation (method and path template, "/users/{id}") for
// status.
func (o *openAPI) responseSchema(method, path string, status int) (map[string]any, error) {
	op, err := o.resolve(operationPointer(method, path))
	if err != nil {
		return nil, fmt.Errorf("%s %s is not in the document: %w", method, path, err)
	}
	opm, _ := op.(map[string]any)
	responses, _ := opm["responses"].(map[string]any)
	resp, ok := responses[strconv.Itoa(status)].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s %s: the document gives no %d answer (it gives %v)", method, path, status, slices.Sorted(maps.Keys(responses)))
	}
	return o.jsonSchema(resp, fmt.Sprintf("%s %s: the %d answer", method, path, status))
}

// sharedErrors name the responses the document's operations share for an
// error status.
var sharedErrors = map[int]string{
	http.StatusBadRequest:      "ArgumentError",
	http.StatusUnauthorized:    "Unauthorized",
	http.StatusPaymentRequired: "PaymentRequired",
	http.StatusForbidden:       "Forbidden",
	http.StatusNotFound:        "NotFound",
	http.StatusTooManyRequests: "TooManyRequests",
}

// errorSchema is the schema of the error answer of status that the
// document's operations share.
func (o *openAPI) errorSchema(status int) (map[string]any, error) {
	name, ok := sharedErrors[status]
	if !ok {
		return nil, fmt.Errorf("no shared error response for %d", status)
	}
	return o.jsonSchema(map[string]any{"$ref": "#/components/responses/" + name}, "response "+name)
}

// jsonSchema is the schema of a Response Object's application/json
// content; what names the response in errors.
func (o *openAPI) jsonSchema(resp map[string]any, what string) (map[string]any, error) {
	if ref, ok := resp["$ref"].(string); ok {
		r, err := o.resolve(ref)
		if err != nil {
			return nil, err
		}
		resp, _ = r.(map[string]any)
	}
	content, _ := resp["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	schema, ok := media["schema"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s has no application/json schema", what)
	}
	return schema, nil
}

// validate checks v against schema and returns the problems found, each
// starting with the JSON path of the value ("$.incident.status: …").
// When strict, an object's properties that its schema does not name are
// problems too: OpenAPI allows them, but a fake that invents a field
// teaches its clients to read one the real API never sends.
func (o *openAPI) validate(schema any, v any, strict bool) []string {
	c := &checker{api: o, strict: strict}
	c.check(schema, v, "$", false)
	return c.problems
}

type checker struct {
	api      *openAPI
	strict   bool
	problems []string
}

func (c *checker) reportf(at, format string, args ...any) {
	c.problems = append(c.problems, at+": "+fmt.Sprintf(format, args...))
}

// check validates v at path at against schema. composed is set when the
// schema is one part of a larger one for the same value (a branch of
// allOf, oneOf or anyOf, or a reference's target), which then checks the
// property names against all its parts at once.
func (c *checker) check(schemaValue any, v any, at string, composed bool) {
	schema, ok := schemaValue.(map[string]any)
	if !ok {
		c.reportf(at, "schema is a %T, not an object", schemaValue)
		return
	}
	if ref, ok := schema["$ref"].(string); ok {
		// OpenAPI 3.0 ignores a reference's sibling keywords.
		target, err := c.api.resolve(ref)
		if err != nil {
			c.reportf(at, "%v", err)
			return
		}
		c.check(target, v, at, composed)
		return
	}
	for k := range schema {
		if !slices.Contains(annotations, k) && !slices.Contains(keywords, k) {
			c.reportf(at, "schema keyword %q is not supported by this validator", k)
		}
	}

	if v == nil {
		// A schema with a type admits null only when nullable; allOf's
		// and oneOf's parts say so for themselves.
		if _, typed := schema["type"]; typed && schema["nullable"] != true {
			c.reportf(at, "null, want %s", schema["type"])
			return
		}
	} else if t, ok := schema["type"].(string); ok && !hasType(v, t) {
		c.reportf(at, "%s, want %s", jsonType(v), t)
		return
	}

	if enum, ok := schema["enum"].([]any); ok && v != nil && !slices.ContainsFunc(enum, func(e any) bool { return equalJSON(e, v) }) {
		c.reportf(at, "%s is not one of %s", compact(v), compact(enum))
	}
	if f, _ := schema["format"].(string); f == "date-time" {
		if s, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				c.reportf(at, "%q is not a date-time (RFC 3339)", s)
			}
		}
	}

	switch x := v.(type) {
	case string:
		n := float64(utf8.RuneCountInString(x))
		if m, ok := number(schema["minLength"]); ok && n < m {
			c.reportf(at, "%d characters, want at least %v", int(n), m)
		}
		if m, ok := number(schema["maxLength"]); ok && n > m {
			c.reportf(at, "%d characters, want at most %v", int(n), m)
		}
	case json.Number:
		f, _ := x.Float64()
		if m, ok := number(schema["minimum"]); ok && f < m {
			c.reportf(at, "%v is below the minimum %v", x, m)
		}
		if m, ok := number(schema["maximum"]); ok && f > m {
			c.reportf(at, "%v is above the maximum %v", x, m)
		}
	case []any:
		if m, ok := number(schema["minItems"]); ok && float64(len(x)) < m {
			c.reportf(at, "%d items, want at least %v", len(x), m)
		}
		if m, ok := number(schema["maxItems"]); ok && float64(len(x)) > m {
			c.reportf(at, "%d items, want at most %v", len(x), m)
		}
		if unique, _ := schema["uniqueItems"].(bool); unique {
			for i := range x {
				for j := range i {
					if equalJSON(x[j], x[i]) {
						c.reportf(at, "items %d and %d are equal, want unique items", j, i)
					}
				}
			}
		}
		if items, ok := schema["items"]; ok {
			for i, item := range x {
				c.check(items, item, fmt.Sprintf("%s[%d]", at, i), false)
			}
		}
	case map[string]any:
		c.checkObject(schema, x, at, composed)
	}

	if all, ok := schema["allOf"].([]any); ok {
		for _, part := range all {
			c.check(part, v, at, true)
		}
	}
	if one, ok := schema["oneOf"].([]any); ok {
		c.checkBranches(one, v, at, "oneOf")
	}
	if any_, ok := schema["anyOf"].([]any); ok {
		c.checkBranches(any_, v, at, "anyOf")
	}
}

// keywords are the Schema Object's constraints the checker applies.
var keywords = []string{"$ref", "type", "nullable", "enum", "required", "properties", "additionalProperties", "items", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "minimum", "maximum", "allOf", "oneOf", "anyOf"}

func (c *checker) checkObject(schema map[string]any, obj map[string]any, at string, composed bool) {
	if req, ok := schema["required"].([]any); ok {
		for _, name := range req {
			if _, ok := obj[name.(string)]; !ok {
				c.reportf(at, "required property %q is missing", name)
			}
		}
	}
	props, _ := schema["properties"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		child := fmt.Sprintf("%s.%s", at, name)
		if p, ok := props[name]; ok {
			c.check(p, obj[name], child, false)
		} else if extra, ok := schema["additionalProperties"].(map[string]any); ok {
			c.check(extra, obj[name], child, false)
		}
	}
	if !c.strict || composed {
		return
	}
	names, open := c.api.propertyNames(schema)
	if open {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		if !names[name] {
			c.reportf(at+"."+name, "property is not in the schema")
		}
	}
}

// propertyNames are the properties that schema and its parts (allOf,
// oneOf, anyOf, references) name; open is set when it admits others: it
// names none at all (a free-form object) or has additionalProperties.
func (o *openAPI) propertyNames(schema map[string]any) (names map[string]bool, open bool) {
	names = map[string]bool{}
	var walk func(s map[string]any, depth int)
	walk = func(s map[string]any, depth int) {
		if depth > 32 {
			open = true // a cycle of references: admit anything rather than loop
			return
		}
		if ref, ok := s["$ref"].(string); ok {
			if t, err := o.resolve(ref); err == nil {
				if tm, ok := t.(map[string]any); ok {
					walk(tm, depth+1)
				}
			}
			return
		}
		if ap, ok := s["additionalProperties"]; ok && ap != false {
			open = true
		}
		props, _ := s["properties"].(map[string]any)
		for name := range props {
			names[name] = true
		}
		for _, key := range []string{"allOf", "oneOf", "anyOf"} {
			parts, _ := s[key].([]any)
			for _, p := range parts {
				if pm, ok := p.(map[string]any); ok {
					walk(pm, depth+1)
				}
			}
		}
	}
	walk(schema, 0)
	return names, open || len(names) == 0
}

// checkBranches applies oneOf (exactly one branch matches) or anyOf (at
// least one). When none matches, the problems of the closest branch are
// reported.
func (c *checker) checkBranches(branches []any, v any, at, keyword string) {
	var matched int
	var closest []string
	for _, b := range branches {
		sub := &checker{api: c.api, strict: c.strict}
		sub.check(b, v, at, true)
		if len(sub.problems) == 0 {
			matched++
		} else if closest == nil || len(sub.problems) < len(closest) {
			closest = sub.problems
		}
	}
	switch {
	case matched == 0:
		c.reportf(at, "matches none of %s's %d schemas; the closest fails with: %s", keyword, len(branches), strings.Join(closest, "; "))
	case keyword == "oneOf" && matched > 1:
		c.reportf(at, "matches %d of oneOf's schemas, want exactly one", matched)
	}
}

// hasType reports whether v is of the JSON Schema type t.
func hasType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f)
	}
	return false
}

// jsonType names v's JSON type for messages ("integer" for a whole number).
func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string " + compact(v)
	case bool:
		return "boolean"
	case json.Number:
		if hasType(v, "integer") {
			return "integer " + compact(v)
		}
		return "number " + compact(v)
	}
	return fmt.Sprintf("%T", v)
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// equalJSON compares two decoded JSON values (numbers by value).
func equalJSON(a, b any) bool {
	if na, ok := a.(json.Number); ok {
		nb, ok := b.(json.Number)
		if !ok {
			return false
		}
		fa, _ := na.Float64()
		fb, _ := nb.Float64()
		return fa == fb
	}
	return compact(a) == compact(b)
}

func compact(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(buf.String())
}
