// Package netfake is a network in memory for tests: HTTP servers and
// clients connected by net.Pipe instead of loopback sockets.
//
// A testing/synctest bubble's clock moves only while every goroutine in
// it waits on the bubble's own channels or timers; a goroutine reading a
// socket does not count, so a bubble serving HTTP over loopback never
// moves its clock. Over a Network it does: the function under test, the
// fakes and the test's requests all run on the bubble's clock, and a
// lease or budget of seconds takes no time. A Network works outside a
// bubble as well.
//
// Proxy stands between a client and its target, on a Network or over
// loopback TCP, to count connections, add latency or cut the target off.
package netfake

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
)

// Network connects the listeners and the dialers of one test, or of one
// bubble: a connection made in a bubble must stay in it.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*listener
	port      int
}

// New returns an empty Network.
func New() *Network { return &Network{listeners: map[string]*listener{}} }

// Listen returns a listener at a new address of the network. Addresses
// look like loopback ones ("127.0.0.1:1") so that no proxy setting of the
// environment applies to them.
func (n *Network) Listen() net.Listener {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.port++
	l := &listener{net: n, addr: addr(fmt.Sprintf("127.0.0.1:%d", n.port)), conns: make(chan net.Conn), done: make(chan struct{})}
	n.listeners[l.addr.String()] = l
	return l
}

// DialContext connects to the listener at address, as
// net.Dialer.DialContext would over TCP: an address nobody listens at is
// refused.
func (n *Network) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	n.mu.Lock()
	l := n.listeners[address]
	n.mu.Unlock()
	refused := &net.OpError{Op: "dial", Net: network, Addr: addr(address), Err: syscall.ECONNREFUSED}
	if l == nil {
		return nil, refused
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, refused
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Transport returns a new HTTP transport whose connections are made on n.
func (n *Network) Transport() *http.Transport {
	return &http.Transport{DialContext: n.DialContext}
}

// Client returns a new HTTP client whose connections are made on n.
func (n *Network) Client() *http.Client { return &http.Client{Transport: n.Transport()} }

// Serve starts serving h at a new address of n. Close the server when
// done (before the bubble ends, in a bubble); its URL is where n's
// clients reach it. The server's own Client dials loopback: use n.Client.
func (n *Network) Serve(h http.Handler) *httptest.Server {
	srv := &httptest.Server{Listener: n.Listen(), Config: &http.Server{Handler: h}}
	srv.Start()
	return srv
}

type listener struct {
	net   *Network
	addr  addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.net.mu.Lock()
		delete(l.net.listeners, l.addr.String())
		l.net.mu.Unlock()
	})
	return nil
}

func (l *listener) Addr() net.Addr { return l.addr }

// addr is an address of a Network.
type addr string

func (a addr) Network() string { return "netfake" }
func (a addr) String() string  { return string(a) }
