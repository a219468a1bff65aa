package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// isTerminal reports whether f is a terminal a person types into.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// askSecret reads one line from the terminal tty with echo off, so the
// value never shows on the screen. The echo is turned back on even when
// ctx ended meanwhile (Ctrl-C, which the read does not notice), and then
// what was typed is not used.
func askSecret(ctx context.Context, tty *os.File, prompt io.Writer, env, what string) (string, error) {
	stty := func(ctx context.Context, arg string) error {
		cmd := exec.CommandContext(ctx, "stty", arg)
		cmd.Stdin = tty
		return cmd.Run()
	}
	fmt.Fprintf(prompt, "%s: %s.\nPaste it (not shown) and press Enter, or just Enter to skip: ", env, what)
	if err := stty(ctx, "-echo"); err != nil {
		return "", fmt.Errorf("turn off the terminal's echo: %w", err)
	}
	line, err := bufio.NewReader(tty).ReadString('\n')
	if e := stty(context.WithoutCancel(ctx), "echo"); err == nil {
		err = e
	}
	fmt.Fprintln(prompt)
	if err == nil || err == io.EOF {
		err = ctx.Err()
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(line), nil
}
