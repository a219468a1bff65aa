package config

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The README's configuration table is generated from Vars:
//
//	go test ./internal/config -run TestREADMEConfigurationTable -update
//
// rewrites its rows in place (the table is found by its header row,
// wherever it sits). Without -update the test fails when the README's
// names, required column or defaults differ from Vars; the meanings may
// be reworded in the README, but -update writes Vars' descriptions.
var update = flag.Bool("update", false, "rewrite the README's configuration table from Vars")

// readmeHeader is the header row the configuration table is found by.
const readmeHeader = "| variable | required | default | meaning |"

// readmeRow is Vars' row of the README's configuration table.
func readmeRow(v Var) []string {
	return []string{"`" + v.Name + "`", v.Required, v.DefaultText(), v.Description}
}

// tableRow writes cells as a Markdown table row, an empty cell as "| |".
func tableRow(cells []string) string {
	var b strings.Builder
	b.WriteString("|")
	for _, c := range cells {
		if c != "" {
			b.WriteString(" " + c)
		}
		b.WriteString(" |")
	}
	return b.String()
}

// tableCells splits a Markdown table row into its trimmed cells (no cell
// of this table holds a "|").
func tableCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	cells := strings.Split(row, "|")
	for i, c := range cells {
		cells[i] = strings.TrimSpace(c)
	}
	return cells
}

func TestREADMEConfigurationTable(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == readmeHeader })
	if start < 0 {
		t.Fatalf("README.md has no configuration table (a row %q)", readmeHeader)
	}
	first := start + 2 // after the header and its |---| row
	end := first
	for end < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[end]), "|") {
		end++
	}
	if *update {
		rows := make([]string, len(Vars))
		for i, v := range Vars {
			rows[i] = tableRow(readmeRow(v))
		}
		out := slices.Concat(lines[:first], rows, lines[end:])
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got := lines[first:end]
	if len(got) != len(Vars) {
		t.Errorf("README's configuration table has %d rows, Vars %d (regenerate with -update)", len(got), len(Vars))
	}
	for i := range min(len(got), len(Vars)) {
		cells, want := tableCells(got[i]), readmeRow(Vars[i])
		if len(cells) != len(want) || !slices.Equal(cells[:3], want[:3]) {
			t.Errorf("README row %d = %q,\nwant name, required and default %q (regenerate with -update)", i+1, got[i], want[:3])
		}
	}
}
