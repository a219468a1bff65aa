package pagerduty

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// validatorDoc is a small OpenAPI document using every keyword the
// validator applies.
const validatorDoc = `{"components": {"schemas": {
  "Reference": {"type": "object", "required": ["id", "type"],
    "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "summary": {"type": "string", "nullable": true}}},
  "UserReference": {"allOf": [{"$ref": "#/components/schemas/Reference"},
    {"type": "object", "properties": {"type": {"type": "string", "enum": ["user_reference"]}}}]},
  "PolicyReference": {"allOf": [{"$ref": "#/components/schemas/Reference"},
    {"type": "object", "properties": {"type": {"type": "string", "enum": ["escalation_policy_reference"]}}}]},
  "Policy": {"type": "object", "required": ["type", "name"],
    "properties": {"id": {"type": "string"}, "type": {"type": "string", "enum": ["escalation_policy"]}, "name": {"type": "string"}}},
  "Incident": {"type": "object", "required": ["status", "number"], "properties": {
    "status": {"type": "string", "enum": ["triggered", "acknowledged", "resolved"], "description": "annotations are ignored"},
    "number": {"type": "integer", "minimum": 1},
    "total": {"type": "integer", "nullable": true},
    "created_at": {"type": "string", "format": "date-time"},
    "title": {"type": "string", "maxLength": 8},
    "tags": {"type": "array", "minItems": 1, "uniqueItems": true, "items": {"type": "string"}},
    "assignee": {"$ref": "#/components/schemas/UserReference"},
    "escalation_policy": {"oneOf": [{"$ref": "#/components/schemas/PolicyReference"}, {"$ref": "#/components/schemas/Policy"}]},
    "either": {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]},
    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    "free": {"type": "object"}
  }},
  "Odd": {"type": "string", "pattern": "^P"},
  "Broken": {"$ref": "#/components/schemas/Missing"}
}}}`

func TestValidatorReportsMismatchesWithTheirPath(t *testing.T) {
	t.Parallel()
	api := &openAPI{}
	doc, err := decodeJSON([]byte(validatorDoc))
	if err != nil {
		t.Fatal(err)
	}
	api.doc = doc.(map[string]any)
	const valid = `"status": "acknowledged", "number": 7, "total": null, "created_at": "2026-12-06T20:00:00Z", "title": "db down",
		"tags": ["a"], "assignee": {"id": "PADA", "type": "user_reference", "summary": null},
		"escalation_policy": {"id": "PPOL", "type": "escalation_policy_reference"}, "fields": {"k": "v"}, "free": {"any": 1}`
	tests := []struct {
		name   string
		schema string // a component's name
		json   string
		strict bool
		want   []string
	}{
		{name: "valid", schema: "Incident", json: `{` + valid + `}`, strict: true},
		{name: "valid with a policy object in oneOf", schema: "Incident", json: `{"status": "resolved", "number": 1, "escalation_policy": {"type": "escalation_policy", "name": "Ops"}}`},
		{name: "wrong type", schema: "Incident", json: `{"status": "triggered", "number": "7"}`,
			want: []string{`$.number: string "7", want integer`}},
		{name: "fraction for an integer", schema: "Incident", json: `{"status": "triggered", "number": 7.5}`,
			want: []string{`$.number: number 7.5, want integer`}},
		{name: "missing required property", schema: "Incident", json: `{"status": "triggered"}`,
			want: []string{`$: required property "number" is missing`}},
		{name: "value outside the enum", schema: "Incident", json: `{"status": "open", "number": 1}`,
			want: []string{`$.status: "open" is not one of ["triggered","acknowledged","resolved"]`}},
		{name: "null where not nullable", schema: "Incident", json: `{"status": null, "number": 1}`,
			want: []string{`$.status: null, want string`}},
		{name: "enum through allOf and a reference", schema: "Incident", json: `{"status": "triggered", "number": 1, "assignee": {"id": "PADA", "type": "user"}}`,
			want: []string{`$.assignee.type: "user" is not one of ["user_reference"]`}},
		{name: "required through allOf and a reference", schema: "Incident", json: `{"status": "triggered", "number": 1, "assignee": {"type": "user_reference"}}`,
			want: []string{`$.assignee: required property "id" is missing`}},
		{name: "array item", schema: "Incident", json: `{"status": "triggered", "number": 1, "tags": ["a", 2]}`,
			want: []string{`$.tags[1]: integer 2, want string`}},
		{name: "bounds", schema: "Incident", json: `{"status": "triggered", "number": 0, "tags": [], "title": "the database is down"}`,
			want: []string{`$.number: 0 is below the minimum 1`, `$.tags: 0 items, want at least 1`, `$.title: 20 characters, want at most 8`}},
		{name: "unique items", schema: "Incident", json: `{"status": "triggered", "number": 1, "tags": ["a", "b", "a"]}`,
			want: []string{`$.tags: items 0 and 2 are equal, want unique items`}},
		{name: "date-time", schema: "Incident", json: `{"status": "triggered", "number": 1, "created_at": "yesterday"}`,
			want: []string{`$.created_at: "yesterday" is not a date-time (RFC 3339)`}},
		{name: "oneOf matching none", schema: "Incident", json: `{"status": "triggered", "number": 1, "escalation_policy": {"id": "PPOL", "type": "service_reference"}}`,
			want: []string{`$.escalation_policy: matches none of oneOf's 2 schemas; the closest fails with: $.escalation_policy.type: "service_reference" is not one of ["escalation_policy_reference"]`}},
		{name: "oneOf matching two", schema: "Incident", json: `{"status": "triggered", "number": 1, "either": "abc"}`,
			want: []string{`$.either: matches 2 of oneOf's schemas, want exactly one`}},
		{name: "additionalProperties", schema: "Incident", json: `{"status": "triggered", "number": 1, "fields": {"k": 1}}`,
			want: []string{`$.fields.k: integer 1, want string`}},
		{name: "unknown property passes when not strict", schema: "Incident", json: `{"status": "triggered", "number": 1, "assignee": {"id": "P", "type": "user_reference", "color": "red"}}`},
		{name: "unknown property when strict", schema: "Incident", json: `{"status": "triggered", "number": 1, "urgncy": "high", "assignee": {"id": "P", "type": "user_reference", "color": "red"}}`, strict: true,
			want: []string{`$.assignee.color: property is not in the schema`, `$.urgncy: property is not in the schema`}},
		{name: "unsupported keyword", schema: "Odd", json: `"PABC"`,
			want: []string{`$: schema keyword "pattern" is not supported by this validator`}},
		{name: "unresolvable reference", schema: "Broken", json: `{}`,
			want: []string{`$: reference "#/components/schemas/Missing": no "Missing"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := decodeJSON([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			got := api.validate(map[string]any{"$ref": "#/components/schemas/" + tt.schema}, v, tt.strict)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("validate(%s, %s) problems (-want +got):\n%s", tt.schema, tt.json, diff)
			}
		})
	}
}

func TestResponseSchemaNamesUndocumentedAnswers(t *testing.T) {
	t.Parallel()
	api, err := loadOpenAPI(vendoredOpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.responseSchema("GET", "/users/{id}", 200); err != nil {
		t.Errorf("responseSchema(GET /users/{id}, 200) error = %v", err)
	}
	if _, err := api.responseSchema("PUT", "/incidents/{id}", 400); err == nil || !strings.Contains(err.Error(), "gives no 400 answer") {
		t.Errorf("responseSchema(PUT /incidents/{id}, 400) error = %v, want one saying the document gives no 400", err)
	}
	if _, err := api.responseSchema("GET", "/nowhere", 200); err == nil {
		t.Errorf("responseSchema(GET /nowhere) error = nil, want one")
	}
}

func TestTrimKeepsWhatTheOperationsReference(t *testing.T) {
	t.Parallel()
	full, err := decodeJSON([]byte(`{"openapi": "3.0.2", "info": {"title": "API", "version": "2", "description": "long"},
	  "paths": {"/things/{id}": {"get": {"summary": "s", "parameters": [{"name": "id"}],
	    "responses": {"200": {"description": "d", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"},
	      "examples": {"e": {"value": 1}}}}},
	      "404": {"$ref": "#/components/responses/NotFound"}}}},
	    "/other": {"get": {"responses": {"200": {"$ref": "#/components/responses/Unused"}}}}},
	  "components": {
	    "schemas": {
	      "Thing": {"allOf": [{"$ref": "#/components/schemas/Base/allOf/0"}, {"type": "object", "description": "x",
	        "properties": {"description": {"type": "string", "description": "a property named description stays"}}, "example": {}}]},
	      "Base": {"allOf": [{"type": "object", "properties": {"id": {"type": "string"}}}, {"$ref": "#/components/schemas/Deep"}]},
	      "Deep": {"type": "object"},
	      "Unused": {"type": "string"}},
	    "responses": {
	      "NotFound": {"description": "d", "content": {"application/json": {"schema": {"type": "object"}}}},
	      "Unused": {"description": "d"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := trimOpenAPI(&openAPI{doc: full.(map[string]any)}, []string{"GET /things/{id}"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := decodeJSON([]byte(`{"openapi": "3.0.2", "info": {"title": "API", "version": "2"},
	  "paths": {"/things/{id}": {"get": {"responses": {
	    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
	    "404": {"$ref": "#/components/responses/NotFound"}}}}},
	  "components": {
	    "schemas": {
	      "Thing": {"allOf": [{"$ref": "#/components/schemas/Base/allOf/0"}, {"type": "object",
	        "properties": {"description": {"type": "string"}}}]},
	      "Base": {"allOf": [{"type": "object", "properties": {"id": {"type": "string"}}}, {"$ref": "#/components/schemas/Deep"}]},
	      "Deep": {"type": "object"}},
	    "responses": {
	      "NotFound": {"content": {"application/json": {"schema": {"type": "object"}}}}}}}`))
	if diff := cmp.Diff(want, any(got)); diff != "" {
		t.Errorf("trimOpenAPI (-want +got):\n%s", diff)
	}
}
