package e2e

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// testDNS answers A queries for one name with a list of addresses the test changes while it runs: it stands in
// for a Kubernetes headless Service (one A record per ready pod) in front of the gateways.
type testDNS struct {
	conn *net.UDPConn
	name string // lower case, with the trailing dot

	mu    sync.Mutex
	addrs []netip.Addr
}

func startTestDNS(t *testing.T, name string, addrs ...string) *testDNS {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	d := &testDNS{conn: conn, name: strings.ToLower(name) + "."}
	d.Set(addrs...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.serve()
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
	})
	return d
}

// Addr is the server's host:port, the authority of a gRPC target dns://<Addr>/<name>:<port>.
func (d *testDNS) Addr() string { return d.conn.LocalAddr().String() }

// Set replaces the addresses the name resolves to.
func (d *testDNS) Set(addrs ...string) {
	parsed := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		parsed[i] = netip.MustParseAddr(a)
	}
	d.mu.Lock()
	d.addrs = parsed
	d.mu.Unlock()
}

func (d *testDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed at cleanup
		}
		if resp, err := d.answer(buf[:n]); err == nil {
			_, _ = d.conn.WriteToUDP(resp, from)
		}
	}
}

// answer builds the response to one query: the A records for the name (a 1 s TTL), no records for its other
// types (AAAA, TXT), NXDOMAIN for any other name.
func (d *testDNS) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	if h.Response {
		return nil, errors.New("not a query")
	}
	known := strings.ToLower(q.Name.String()) == d.name
	rcode := dnsmessage.RCodeSuccess
	if !known {
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RCode: rcode})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if known && q.Type == dnsmessage.TypeA {
		d.mu.Lock()
		addrs := append([]netip.Addr(nil), d.addrs...)
		d.mu.Unlock()
		for _, a := range addrs {
			rh := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 1}
			if err := b.AResource(rh, dnsmessage.AResource{A: a.As4()}); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}

func TestTestDNS_AnswersTheCurrentAddresses(t *testing.T) {
	d := startTestDNS(t, "gateways.fapilog.test", "127.0.0.2", "127.0.0.3")
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, d.Addr())
	}}
	lookup := func() []string {
		addrs, err := r.LookupHost(context.Background(), "gateways.fapilog.test")
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(addrs)
		return addrs
	}
	if got := lookup(); !slices.Equal(got, []string{"127.0.0.2", "127.0.0.3"}) {
		t.Errorf("resolved %v", got)
	}
	d.Set("127.0.0.4")
	if got := lookup(); !slices.Equal(got, []string{"127.0.0.4"}) {
		t.Errorf("after Set: resolved %v", got)
	}
	if _, err := r.LookupHost(context.Background(), "other.fapilog.test"); err == nil {
		t.Error("another name resolved")
	}
}
