package netfake

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a TCP proxy for tests that stands between a client and its
// target: it counts the connections made through it, can hold back what
// the target sends by a delay (a latency added to every round trip), and
// can be cut and restored to show what the client does when the target
// becomes unreachable and comes back. Unlike stopping the target, a cut
// keeps its state, as a real outage would.
type Proxy struct {
	l     net.Listener
	dial  func() (net.Conn, error)
	n     atomic.Int64
	delay atomic.Int64 // time.Duration
	// done is closed by Close, to drop what a delay still holds back.
	done chan struct{}
	// wg holds every goroutine of the proxy, so that none outlives Close.
	wg sync.WaitGroup

	mu     sync.Mutex
	cut    bool
	closed bool
	conns  map[net.Conn]struct{}
}

// NewProxy starts a proxy on a new loopback port to the TCP address
// target.
func NewProxy(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return ProxyOn(l, func() (net.Conn, error) { return net.Dial("tcp", target) }), nil
}

// ProxyOn starts a proxy of what l accepts to the connections dial makes,
// for example on a Network: ProxyOn(n.Listen(), dialTarget).
func ProxyOn(l net.Listener, dial func() (net.Conn, error)) *Proxy {
	p := &Proxy{l: l, dial: dial, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	return p
}

// Addr returns the proxy's host:port, for the client to connect to.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// Conns returns how many connections the proxy accepted so far, including
// those it closed at once while cut.
func (p *Proxy) Conns() int { return int(p.n.Load()) }

// SetDelay holds back what the target sends by d from now on.
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// Cut closes every open connection, and the connections accepted from
// now on at once, until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	p.closeConns()
}

// Restore lets new connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// Close stops accepting, closes every connection, drops what a delay
// still holds back and waits for the proxy's goroutines to end.
func (p *Proxy) Close() {
	p.l.Close()
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	p.closeConns()
	p.mu.Unlock()
	p.wg.Wait()
}

// closeConns closes the open connections; p.mu is held.
func (p *Proxy) closeConns() {
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *Proxy) accept() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		p.n.Add(1)
		p.wg.Go(func() { p.forward(in) })
	}
}

// forward copies between in and a new connection to the target until
// both directions end or the proxy closes them.
func (p *Proxy) forward(in net.Conn) {
	if !p.track() {
		in.Close()
		return
	}
	out, err := p.dial()
	if err != nil {
		in.Close()
		return
	}
	// Cut or Close may have come during the dial.
	if !p.track(in, out) {
		in.Close()
		out.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(out, in)
		closeWrite(out)
	})
	p.delayedCopy(in, out)
	closeWrite(in)
	wg.Wait()
	in.Close()
	out.Close()
	p.mu.Lock()
	delete(p.conns, in)
	delete(p.conns, out)
	p.mu.Unlock()
}

// track records conns as open, so that Cut and Close close them, and
// reports whether the proxy lets them through.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// closeWrite tells the other side of c that nothing more comes while it
// may still answer: a half-close where c has one (TCP), else a close.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	c.Close()
}

// delayedCopy copies src to dst, each chunk the delay after it arrived:
// the chunks keep their spacing, so every round trip takes the delay
// longer, however many are in flight.
func (p *Proxy) delayedCopy(dst, src net.Conn) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	chunks := make(chan chunk, 1024)
	go func() {
		defer close(chunks)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				chunks <- chunk{b[:n], time.Now().Add(time.Duration(p.delay.Load()))}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for ch := range chunks {
		if failed {
			continue // drain, so the reader ends
		}
		if wait := time.Until(ch.at); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-p.done:
				t.Stop()
				failed = true
				continue
			}
		}
		_, err := dst.Write(ch.b)
		failed = err != nil
	}
}
