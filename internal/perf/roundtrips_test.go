package perf

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	netfake "github.com/incident-channels/incident-channels/internal/fake/net"
	"github.com/incident-channels/incident-channels/internal/firestoretest"
)

// TestProxyDelay checks the proxy's delay: what the target sends arrives
// that much later, and chunks in flight together are not delayed one
// after the other.
func TestProxyDelay(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := netfake.New()
		echo := nw.Listen()
		t.Cleanup(func() { echo.Close() })
		go func() {
			for {
				c, err := echo.Accept()
				if err != nil {
					return
				}
				go func() { _, _ = io.Copy(c, c); c.Close() }()
			}
		}()
		const delay = 100 * time.Millisecond
		p := proxyOn(nw.Listen(), func() (net.Conn, error) {
			return nw.DialContext(context.Background(), "tcp", echo.Addr().String())
		}, delay)
		t.Cleanup(p.Close)
		c, err := nw.DialContext(context.Background(), "tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 1)
		start := time.Now()
		for _, b := range []string{"a", "b", "c"} {
			if _, err := c.Write([]byte(b)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		for range 3 {
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d < delay || d >= 2*delay {
			t.Errorf("three echoes sent 10 ms apart came back after %v, want one delay of %v, not three", d, delay)
		}
		p.SetDelay(0)
		start = time.Now()
		if _, err := c.Write([]byte("d")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d >= delay {
			t.Errorf("echo without delay took %v", d)
		}
	})
}

// TestRoundTrips runs the roundtrips section on the emulator: every event
// needs at least one Firestore round trip on its critical path.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	o := tiny()
	o.Only = []string{"roundtrips"}
	o.FirestoreProject, o.EmulatorHost = firestoretest.Project(t), os.Getenv("FIRESTORE_EMULATOR_HOST")
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run(roundtrips) error = %v", err)
	}
	if len(rep.Rows) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(rep.Rows), rep.Rows)
	}
	for _, name := range []string{"triggered: answer ≈ 2 L + k F", "acknowledged: answer ≈ L + k F"} {
		if r, ok := rowPrefix(rep, name); !ok || r.Median() < 1 {
			t.Errorf("row %q = %+v, want k ≥ 1", name, r)
		}
	}

	o.FirestoreProject, o.EmulatorHost = "", ""
	if rep, err := Run(context.Background(), o); err != nil || len(rep.Rows) != 0 {
		t.Errorf("Run(roundtrips) with the memory store = %d rows, %v; want it skipped", len(rep.Rows), err)
	}
}
