package firestoretest

import (
	"io"
	"net"
	"os"
	"sync"
	"testing"
)

// Proxy is a TCP proxy to the emulator that a test can cut and restore,
// to see what the code does when Firestore becomes unreachable mid-run and
// comes back: while cut, open connections are reset and new ones are
// accepted and closed at once. Unlike stopping the emulator, it keeps the
// data, as a real Firestore outage would.
type Proxy struct {
	// Addr is the proxy's host:port, to use as FIRESTORE_EMULATOR_HOST.
	Addr   string
	target string
	l      net.Listener

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

// NewProxy starts a proxy to the emulator of this test binary and closes it
// when the test ends. It skips the test like Project when no emulator is
// available.
func NewProxy(t testing.TB) *Proxy {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	target := os.Getenv(emulatorHostEnv)
	if target == "" {
		t.Fatalf("firestoretest: %s is not set; call firestoretest.Main from TestMain", emulatorHostEnv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), target: target, l: l, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.Cut()
	})
	return p
}

// Cut resets every open connection and refuses service until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Restore lets connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

func (p *Proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *Proxy) forward(c net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}
