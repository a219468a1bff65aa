// Package firestoretest runs tests against the Firestore emulator.
//
// A package whose tests need Firestore calls Main from its TestMain and
// Client (or Project) from each test:
//
//	func TestMain(m *testing.M) { os.Exit(firestoretest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		client := firestoretest.Client(t)
//		...
//	}
//
// When FIRESTORE_EMULATOR_HOST is set, the tests use that emulator.
// Otherwise Main starts one with gcloud for the package's tests and stops it
// afterwards. If that is impossible, Firestore tests are skipped on a
// developer machine but fail under CI (CI set to anything), so a broken CI
// setup can never pass by skipping them. Either way, Main makes a first
// transaction on the emulator before the tests run, so that no test meets
// a cold one.
//
// Main stops its emulator when the tests end or the process gets SIGINT or
// SIGTERM; a test binary killed outright (SIGKILL, or a -timeout panic)
// leaves it running.
package firestoretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// emulatorHostEnv is the variable the Firestore client reads to talk to
// the emulator instead of Google Cloud.
const emulatorHostEnv = "FIRESTORE_EMULATOR_HOST"

// startTimeout is how long the emulator may take to answer; the JVM is
// slow to start on a busy machine.
const startTimeout = 60 * time.Second

// skipReason is set by Main when no emulator is available outside CI.
var skipReason string

// Main runs the tests of m with a Firestore emulator and returns the exit
// code for os.Exit. Call it from TestMain. It warms the emulator before
// the tests run (see warm).
func Main(m *testing.M) int {
	if os.Getenv(emulatorHostEnv) == "" {
		emu, err := start()
		if err != nil {
			if os.Getenv("CI") != "" {
				fmt.Fprintf(os.Stderr, "firestoretest: %v\nfirestoretest: CI is set, so tests needing Firestore fail instead of being skipped\n", err)
				return 1
			}
			fmt.Fprintf(os.Stderr, "firestoretest: %v\nfirestoretest: tests needing Firestore are skipped\n", err)
			firstLine, _, _ := strings.Cut(err.Error(), "\n")
			skipReason = fmt.Sprintf("no Firestore emulator: %s; install it with `gcloud components install cloud-firestore-emulator` "+
				"(or the google-cloud-cli-firestore-emulator package) and a Java runtime, or set %s", firstLine, emulatorHostEnv)
			return m.Run()
		}
		defer emu.stop()

		// Stop the emulator on Ctrl-C too: it runs in its own process group,
		// so the terminal's signal does not reach it.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer func() { signal.Stop(sig); close(sig) }()
		go func() {
			if _, ok := <-sig; ok {
				emu.stop()
				os.Exit(1)
			}
		}()

		os.Setenv(emulatorHostEnv, emu.host)
		defer os.Unsetenv(emulatorHostEnv)
	}
	if err := warm(); err != nil {
		fmt.Fprintf(os.Stderr, "firestoretest: %v\n", err)
		return 1
	}
	return m.Run()
}

// warmTimeout bounds the warm-up. A JVM that has just started, or one on a
// busy machine, takes seconds over its first requests.
const warmTimeout = 60 * time.Second

// warm makes a first transaction (a read and a write) on the emulator, in a
// project of its own, so that no test meets a cold emulator: the first
// request to one can take longer than a test's request budget, and the
// test would see a 503 it is not about.
func warm() error {
	ctx, cancel := context.WithTimeout(context.Background(), warmTimeout)
	defer cancel()
	project := newProject("warm")
	client, err := firestore.NewClient(ctx, project)
	if err != nil {
		return fmt.Errorf("warm the emulator at %s: %w", os.Getenv(emulatorHostEnv), err)
	}
	defer client.Close()
	doc := client.Doc("warm/up")
	err = client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		if _, err := tx.Get(doc); err != nil && status.Code(err) != codes.NotFound {
			return err
		}
		return tx.Set(doc, map[string]any{"warm": true})
	})
	if err != nil {
		return fmt.Errorf("warm the emulator at %s: first transaction: %w", os.Getenv(emulatorHostEnv), err)
	}
	return nil
}

// Client returns a Firestore client for the emulator on a project of its
// own (see Project). The client is closed when the test ends.
func Client(t testing.TB) *firestore.Client {
	t.Helper()
	project := Project(t)
	client, err := firestore.NewClient(context.Background(), project)
	if err != nil {
		t.Fatalf("firestore.NewClient(%q) error = %v", project, err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// Project returns a new project id, so that a test sees no data of other
// tests; the emulator accepts any project. It is for tests that make their
// own clients, e.g. several on one project. Project skips the test when
// Main found no emulator.
func Project(t testing.TB) string {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if os.Getenv(emulatorHostEnv) == "" {
		// Never let a test reach a real project.
		t.Fatalf("firestoretest: %s is not set; call firestoretest.Main from TestMain", emulatorHostEnv)
	}
	return newProject("test")
}

// newProject returns a project id no one used before.
func newProject(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// emulator is a running `gcloud emulators firestore start`.
type emulator struct {
	host     string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has exited
	stopOnce sync.Once
}

// start starts the emulator on a free loopback port and waits until it
// answers.
func start() (*emulator, error) {
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return nil, errors.New("gcloud is not on PATH")
	}
	host, err := freeHostPort()
	if err != nil {
		return nil, err
	}
	var out lockedBuffer
	cmd := exec.Command(gcloud, "emulators", "firestore", "start", "--host-port="+host)
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so stop can kill gcloud and the JVM it forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd, err)
	}
	emu := &emulator{host: host, cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(emu.exited)
	}()

	deadline := time.After(startTimeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(host) {
			return emu, nil
		}
		select {
		case <-emu.exited:
			return nil, fmt.Errorf("%s exited: %v\n%s", cmd, cmd.ProcessState, out.String())
		case <-deadline:
			emu.stop()
			return nil, fmt.Errorf("%s did not answer within %v\n%s", cmd, startTimeout, out.String())
		case <-tick.C:
		}
	}
}

// ready reports whether the emulator answers on host; it says "Ok".
func ready(host string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + host + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop kills the emulator's process group and waits for gcloud to exit.
func (e *emulator) stop() {
	e.stopOnce.Do(func() {
		pgid := e.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(10 * time.Second):
		}
		// The JVM may outlive gcloud; make sure nothing of the group is left.
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-e.exited
	})
}

// freeHostPort returns a loopback host:port that was free a moment ago.
func freeHostPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// lockedBuffer keeps the start of the emulator's output, written by exec's
// copying goroutine, for the error message when it fails to start.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// maxOutput bounds what lockedBuffer keeps of a long-running emulator.
const maxOutput = 64 << 10

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxOutput - b.b.Len(); room > 0 {
		b.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Dial connects to a Firestore emulator at addr (host:port) as the
// Firestore client does when FIRESTORE_EMULATOR_HOST is set: plain gRPC,
// as the emulator's owner. opts add to that, e.g. interceptors. Give the
// connection to firestore.NewClient with option.WithGRPCConn to reach the
// emulator through a proxy or to watch the client's calls.
func Dial(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(emulatorOwner{})}, opts...)
	return grpc.NewClient(addr, opts...)
}

// emulatorOwner authenticates to the Firestore emulator as its owner.
type emulatorOwner struct{}

func (emulatorOwner) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}

func (emulatorOwner) RequireTransportSecurity() bool { return false }
