package pagerduty_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/incident-channels/incident-channels/internal/pagerduty"
)

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"event":{"id":"1"}}`)
	secret := []byte("s3cret")
	other := []byte("rotated")
	good := pagerduty.Sign(body, secret)
	hexOnly := strings.TrimPrefix(good, "v1=")
	tests := []struct {
		name    string
		header  string
		secrets [][]byte
		want    error
	}{
		{"valid", good, [][]byte{secret}, nil},
		{"valid among several signatures", "v1=" + strings.Repeat("ab", 32) + "," + good, [][]byte{secret}, nil},
		{"valid with spaces", " v1= " + hexOnly + " , v1=00", [][]byte{secret}, nil},
		{"second secret during rotation", good, [][]byte{other, secret}, nil},
		{"uppercase hex", "v1=" + strings.ToUpper(hexOnly), [][]byte{secret}, nil},
		{"missing header", "", [][]byte{secret}, pagerduty.ErrMissingSignature},
		{"no v1 entry", "v0=" + hexOnly, [][]byte{secret}, pagerduty.ErrMissingSignature},
		{"garbled hex", "v1=zz" + hexOnly[2:], [][]byte{secret}, pagerduty.ErrMissingSignature},
		{"truncated signature", "v1=" + hexOnly[:40], [][]byte{secret}, pagerduty.ErrMissingSignature},
		{"wrong secret", good, [][]byte{other}, pagerduty.ErrBadSignature},
		{"signature of another body", pagerduty.Sign([]byte(`{"event":{"id":"2"}}`), secret), [][]byte{secret}, pagerduty.ErrBadSignature},
		{"no secrets configured", good, nil, pagerduty.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := pagerduty.VerifySignature(body, tt.header, tt.secrets); !errors.Is(err, tt.want) {
				t.Errorf("pagerduty.VerifySignature(%q) = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
}
