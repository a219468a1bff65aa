package emailaddr

import (
	"strings"
	"testing"
)

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"same", "ada@example.com", "ada@example.com", true},
		{"ASCII case folded", "ADA@Example.com", "ada@example.com", true},
		{"surrounding space ignored", " ada@example.com\n", "ada@example.com", true},
		{"different", "ada@example.com", "alan@example.com", false},
		{"Kelvin sign is not k", "\u212Aate@example.com", "kate@example.com", false},
		{"Kelvin sign is not K", "\u212Aate@example.com", "Kate@example.com", false},
		{"long s is not s", "\u017Fam@example.com", "sam@example.com", false},
		{"non-ASCII never matches, not even itself", "jos\u00e9@example.com", "jos\u00e9@example.com", false},
		{"non-ASCII domain never matches itself", "ada@b\u00fccher.example", "ada@b\u00fccher.example", false},
		{"empty never matches", "", "", false},
		{"blank never matches", " ", " ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := Equal(tt.b, tt.a); got != tt.want {
				t.Errorf("Equal(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"ADA@Example.COM", "ada@example.com", true},
		{" a.b+c@x.io ", "a.b+c@x.io", true},
		{"\u212Aate@example.com", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := Key(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Key(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestHash(t *testing.T) {
	h := Hash("ada@example.com")
	if strings.Contains(h, "ada") || strings.Contains(h, "example") {
		t.Errorf("Hash(ada@example.com) = %q, names the address", h)
	}
	if !strings.HasPrefix(h, "email:") || len(h) != len("email:")+12 {
		t.Errorf("Hash(ada@example.com) = %q, want email: and 12 hex digits", h)
	}
	if Hash("ADA@Example.com ") != h {
		t.Errorf("Hash differs for the same address in another case: %q, %q", Hash("ADA@Example.com "), h)
	}
	if Hash("alan@example.com") == h {
		t.Errorf("Hash(alan@…) = Hash(ada@…) = %q", h)
	}
}
