package netfake

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// echo answers every connection l accepts with what it reads, and closes
// it at the end of what it reads.
func echo(t *testing.T, l net.Listener) {
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
}

// proxyToEcho starts an echo server and a proxy to it on nw, closed when
// the test ends.
func proxyToEcho(t *testing.T, nw *Network) *Proxy {
	target := nw.Listen()
	echo(t, target)
	p := ProxyOn(nw.Listen(), func() (net.Conn, error) {
		return nw.DialContext(context.Background(), "tcp", target.Addr().String())
	})
	t.Cleanup(p.Close)
	return p
}

// tcpProxyToEcho starts an echo server and a proxy to it on loopback
// TCP, closed when the test ends.
func tcpProxyToEcho(t *testing.T) *Proxy {
	t.Helper()
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echo(t, target)
	p, err := NewProxy(target.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// roundTrip writes s to c and reads it back.
func roundTrip(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
	got := make([]byte, len(s))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != s {
		t.Fatalf("read back %q, %v; want %q", got, err, s)
	}
}

// TestProxyDelayOncePerRoundTrip: what the target sends arrives the
// delay later, and chunks in flight together are not delayed one after
// the other.
func TestProxyDelayOncePerRoundTrip(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := New()
		p := proxyToEcho(t, nw)
		const delay = 100 * time.Millisecond
		p.SetDelay(delay)
		c, err := nw.DialContext(context.Background(), "tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		for _, b := range []string{"a", "b", "c"} {
			if _, err := io.WriteString(c, b); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		got := make([]byte, 3)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "abc" {
			t.Fatalf("echoes = %q, %v; want abc", got, err)
		}
		// The last echo left 20 ms after the first.
		if d, want := time.Since(start), delay+20*time.Millisecond; d != want {
			t.Errorf("three echoes sent 10 ms apart came back after %v, want %v: one delay, not three", d, want)
		}
		p.SetDelay(0)
		start = time.Now()
		roundTrip(t, c, "d")
		if d := time.Since(start); d != 0 {
			t.Errorf("echo without delay took %v", d)
		}
	})
}

// TestProxyCountsConnections: every connection accepted counts once,
// however many round trips it carries.
func TestProxyCountsConnections(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := New()
		p := proxyToEcho(t, nw)
		for i := range 3 {
			c, err := nw.DialContext(context.Background(), "tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			roundTrip(t, c, "ping "+strconv.Itoa(i))
			roundTrip(t, c, "again")
		}
		if got := p.Conns(); got != 3 {
			t.Errorf("Conns() = %d after three connections, want 3", got)
		}
	})
}

// TestProxyCutAndRestore, over loopback TCP: Cut closes the open
// connections and closes new ones at once; Restore lets new ones through.
func TestProxyCutAndRestore(t *testing.T) {
	t.Parallel()
	p := tcpProxyToEcho(t)
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	open := dial()
	roundTrip(t, open, "before")
	p.Cut()
	if n, err := open.Read(make([]byte, 1)); err == nil {
		t.Errorf("read on a connection open at the cut = %d bytes, want an error", n)
	}
	refused := dial()
	_, _ = io.WriteString(refused, "during")
	if n, err := refused.Read(make([]byte, 1)); err == nil {
		t.Errorf("read on a connection made while cut = %d bytes, want an error", n)
	}
	p.Restore()
	roundTrip(t, dial(), "after")
	if got := p.Conns(); got != 3 {
		t.Errorf("Conns() = %d, want 3 (the one closed at once counts)", got)
	}
}

// TestProxyHalfClose, over loopback TCP: a client that closes its
// writing side still reads the whole answer, as it would without the
// proxy.
func TestProxyHalfClose(t *testing.T) {
	t.Parallel()
	p := tcpProxyToEcho(t)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := strings.Repeat("x", 100<<10) // several chunks
	if _, err := io.WriteString(c, want); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != want {
		t.Errorf("answer after the half-close = %d bytes, %v; want the %d bytes sent", len(got), err, len(want))
	}
}

// TestProxyCloseLeavesNoGoroutine: Close drops an answer the delay holds
// back without waiting it out, and when it returns no goroutine of the
// proxy is left.
func TestProxyCloseLeavesNoGoroutine(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		nw := New()
		target := nw.Listen()
		echo(t, target)
		var p *Proxy
		// The proxy's goroutines inherit the label, and only they have it.
		label := pprof.Labels("proxy", t.Name())
		pprof.Do(context.Background(), label, func(context.Context) {
			p = ProxyOn(nw.Listen(), func() (net.Conn, error) {
				return nw.DialContext(context.Background(), "tcp", target.Addr().String())
			})
		})
		p.SetDelay(time.Hour)
		held, err := nw.DialContext(context.Background(), "tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		if _, err := io.WriteString(held, "held back"); err != nil {
			t.Fatal(err)
		}
		idle, err := nw.DialContext(context.Background(), "tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		synctest.Wait()
		if n := goroutines(t, t.Name()); n == 0 {
			t.Fatal("no goroutine labelled for the proxy before Close: the count below would prove nothing")
		}

		start := time.Now()
		p.Close()
		if d := time.Since(start); d != 0 {
			t.Errorf("Close took %v, want no wait for the delay", d)
		}
		if n := goroutines(t, t.Name()); n != 0 {
			t.Errorf("%d goroutines of the proxy left after Close, want 0", n)
		}
		if n, err := held.Read(make([]byte, 16)); err == nil {
			t.Errorf("read after Close = %d bytes, want an error: Close drops what is held back", n)
		}
	})
}

// goroutines returns how many goroutines have the label proxy=name.
func goroutines(t *testing.T, name string) int {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	// Groups of the debug=1 profile start "count @ pcs", their labels on
	// the next line.
	want := `# labels: {"proxy":"` + name + `"}`
	n, count := 0, 0
	for sc := bufio.NewScanner(&buf); sc.Scan(); {
		line := sc.Text()
		if c, _, ok := strings.Cut(line, " @ "); ok {
			count, _ = strconv.Atoi(c)
		} else if line == want {
			n += count
		}
	}
	return n
}
