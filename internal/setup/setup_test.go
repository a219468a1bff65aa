package setup

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The indexes setup creates are those firestore.indexes.json declares for
// the Firebase CLI.
func TestIndexesMatchIndexFile(t *testing.T) {
	b, err := os.ReadFile("../../firestore.indexes.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Indexes []Index `json:"indexes"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(file.Indexes, Indexes); diff != "" {
		t.Errorf("Indexes differ from firestore.indexes.json (-file +code):\n%s", diff)
	}
}

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"--project=acme", "--project=acme"},
		{"--format=value(name)", "'--format=value(name)'"},
		{"a=='b'", `'a=='\''b'\'''`},
		{"", "''"},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// A secret given on stdin is shown by where it comes from, never by value.
func TestCommandStringHidesSecret(t *testing.T) {
	c := gcloud("secrets", "versions", "add", "s", "--data-file=-")
	c.Stdin, c.StdinFrom = "xoxb-secret", "$SLACK_BOT_TOKEN"
	if got, want := c.String(), `printf %s "$SLACK_BOT_TOKEN" | gcloud secrets versions add s --data-file=-`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

// A resource setup cannot fix says so as a comment, not as a command.
func TestAdviceIsAComment(t *testing.T) {
	c := Command{Args: []string{"#", "use another project"}}
	if got, want := c.String(), "# use another project"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
