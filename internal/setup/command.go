// Package setup provisions an installation of the function in a Google
// Cloud project and its GitHub repository through the gcloud and gh
// command-line tools found on PATH: every resource is looked up with a
// read-only command first and created only when it is missing, so a
// second run changes nothing and a run stopped half-way is completed by the
// next. Each command is printed as it runs, shell-quoted, so a user can
// copy it; a secret value goes on the command's stdin and is never printed.
package setup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Command is one invocation of gcloud or gh.
type Command struct {
	// Args is the program's name ("gcloud", "gh") and its arguments.
	Args []string
	// Stdin is written to the command's standard input.
	Stdin string
	// StdinFrom names where a secret Stdin comes from: a shell variable
	// ("$SLACK_BOT_TOKEN") or a description. The printed command shows
	// that, never the value. Empty: Stdin is not secret and is printed as
	// a here-string.
	StdinFrom string
}

// gcloud and gh build Commands.
func gcloud(args ...string) Command { return Command{Args: append([]string{"gcloud"}, args...)} }
func gh(args ...string) Command     { return Command{Args: append([]string{"gh"}, args...)} }

// String returns the command as a shell would take it. A Command whose
// first word is "#" is advice with no command: a shell comment.
func (c Command) String() string {
	if len(c.Args) > 0 && c.Args[0] == "#" {
		return strings.Join(c.Args, " ")
	}
	quoted := make([]string, len(c.Args))
	for i, a := range c.Args {
		quoted[i] = Quote(a)
	}
	s := strings.Join(quoted, " ")
	switch {
	case strings.HasPrefix(c.StdinFrom, "$"):
		s = "printf %s " + `"` + c.StdinFrom + `"` + " | " + s
	case c.StdinFrom != "":
		s += "   # stdin: " + c.StdinFrom
	case c.Stdin != "":
		s += " <<< " + Quote(c.Stdin)
	}
	return s
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// Quote returns s quoted for a POSIX shell when it needs quoting.
func Quote(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Runner runs a Command and returns its standard output.
type Runner interface {
	Run(ctx context.Context, c Command) (string, error)
}

// CommandError is a command that exited with an error.
type CommandError struct {
	Command Command
	// Stderr is what the command printed on its standard error.
	Stderr string
	Err    error
}

func (e *CommandError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	return e.Command.String() + ": " + msg
}

func (e *CommandError) Unwrap() error { return e.Err }

// notFound reports whether a look failed because the resource does not
// exist (gcloud's NOT_FOUND, gh's HTTP 404), rather than for a reason
// that creating it would not fix.
func notFound(err error) bool {
	var ce *CommandError
	if !errors.As(err, &ce) {
		return false
	}
	for _, s := range []string{"NOT_FOUND", "not found", "does not exist", "HTTP 404"} {
		if strings.Contains(ce.Stderr, s) {
			return true
		}
	}
	return false
}

// explain turns a failed command's error into one naming the problem and
// its fix, for the failures a user can meet: a missing permission, an
// organisation policy refusing allUsers, a project without billing.
func explain(err error, project string) error {
	var ce *CommandError
	if !errors.As(err, &ce) {
		return err
	}
	switch s := ce.Stderr; {
	case strings.Contains(s, "allowedPolicyMemberDomains") || strings.Contains(s, "permitted customer"):
		return fmt.Errorf("%w\nThe organisation refuses allUsers (domain-restricted sharing). PagerDuty and Slack cannot send Google credentials, and the function checks every request's signature itself: ask an organisation admin to exempt project %s from the constraint iam.allowedPolicyMemberDomains, then run setup again", err, project)
	case strings.Contains(s, "PERMISSION_DENIED") || strings.Contains(s, "does not have permission") || strings.Contains(s, "HTTP 403"):
		return fmt.Errorf("%w\nPermission denied: run setup as a project owner of %s (roles/owner), or ask one to grant you the role, then run setup again", err, project)
	case strings.Contains(s, "billing"):
		return fmt.Errorf("%w\nThe project has no billing account: link one (gcloud billing projects link %s --billing-account=ACCOUNT_ID), then run setup again", err, project)
	}
	return err
}

// Exec runs commands as processes, finding each program in the PATH given
// (not the process's own, so callers and tests choose it).
type Exec struct {
	// Programs maps a program's name to its path.
	Programs map[string]string
}

// LookPath returns the executable file name in the directories of path
// (a PATH value), or "" when there is none.
func LookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Run runs c and returns its standard output.
func (e Exec) Run(ctx context.Context, c Command) (string, error) {
	path := e.Programs[c.Args[0]]
	if path == "" {
		return "", fmt.Errorf("%s is not on PATH", c.Args[0])
	}
	cmd := exec.CommandContext(ctx, path, c.Args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(c.Stdin)
	if err := cmd.Run(); err != nil {
		return stdout.String(), &CommandError{Command: c, Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}
