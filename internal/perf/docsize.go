package perf

import (
	"reflect"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
)

// MaxDocumentBytes is Firestore's limit on the size of one document.
const MaxDocumentBytes = 1 << 20

// DocumentSize returns the storage size of a Firestore document by
// Firestore's published rules: the document name (each collection and
// document id as a string, plus 16 bytes), every field name and value
// (strings as UTF-8 bytes plus 1, numbers and times 8, booleans and null
// 1, maps and arrays the sum of what they hold), plus 32 bytes.
func DocumentSize(path string, data map[string]any) int {
	return nameSize(path) + mapSize(data) + 32
}

func nameSize(path string) int {
	n := 16
	for part := range strings.SplitSeq(path, "/") {
		n += len(part) + 1
	}
	return n
}

func mapSize(m map[string]any) int {
	n := 0
	for k, v := range m {
		n += len(k) + 1 + valueSize(v)
	}
	return n
}

func valueSize(v any) int {
	switch v := v.(type) {
	case nil:
		return 1
	case bool:
		return 1
	case string:
		return len(v) + 1
	case []byte:
		return len(v)
	case int, int64, float64, time.Time:
		return 8
	case *firestore.DocumentRef:
		// Path is the full resource name; the size counts the part
		// under documents/.
		_, rel, _ := strings.Cut(v.Path, "/documents/")
		return nameSize(rel)
	case []any:
		n := 0
		for _, e := range v {
			n += valueSize(e)
		}
		return n
	case map[string]any:
		return mapSize(v)
	default: // a geo point; this project stores none
		return 16
	}
}

// StructSize applies DocumentSize's rules to a Go value as if it were
// stored as a document at path with its Go field names: the size of the
// in-memory store's incident.State, deterministic where a JSON encoding's
// length varies with the digits of its times.
func StructSize(path string, v any) int {
	return nameSize(path) + reflectSize(reflect.ValueOf(v)) + 32
}

var timeType = reflect.TypeFor[time.Time]()

func reflectSize(v reflect.Value) int {
	if v.Type() == timeType {
		return 8
	}
	switch v.Kind() {
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				n += len(f.Name) + 1 + reflectSize(v.Field(i))
			}
		}
		return n
	case reflect.Slice, reflect.Array:
		n := 0
		for i := range v.Len() {
			n += reflectSize(v.Index(i))
		}
		return n
	case reflect.Map:
		n := 0
		for it := v.MapRange(); it.Next(); {
			n += len(it.Key().String()) + 1 + reflectSize(it.Value())
		}
		return n
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 1
		}
		return reflectSize(v.Elem())
	case reflect.String:
		return v.Len() + 1
	case reflect.Bool:
		return 1
	default: // numbers
		return 8
	}
}
