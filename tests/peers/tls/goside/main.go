// goside is Go's net/http over TLS (an independent implementation) on
// either side of a nethttp peer.
//
//	goside client -url https://127.0.0.1:PORT -ca CA.pem -wrong-ca OTHER.pem
//	    drives a nethttp HTTPS server: GET, POST, keep-alive reuse, 1 MiB
//	    byte for byte, ALPN (h2 offered, http/1.1 answered and used), TLS
//	    1.3 and 1.2 with session resumption, and a refusal when the
//	    server's CA is not trusted. Exit 0 and
//	    "goside client: ok" on success.
//	goside serve -cert C.pem -key K.pem -client-ca CA.pem
//	    serves on 127.0.0.1:0 listeners, printing "port N" (no client
//	    certificate asked), "mtls_port M" (tls.RequireAndVerifyClientCert
//	    against CA.pem), "mtls12_port M" (the same, TLS 1.2 at most) and
//	    "idle_port I" (idle connections closed after 200 ms), until
//	    SIGTERM, then shuts down and exits 0.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "goside: FAIL: "+format+"\n", a...)
	os.Exit(1)
}

// The bytes of /big: position i holds 'a'+i%26.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func pool(caFile string) *x509.CertPool {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		fail("reading %s: %v", caFile, err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		fail("no certificate in %s", caFile)
	}
	return p
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: goside client|serve FLAGS")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "client":
		runClient(os.Args[2:])
	case "serve":
		runServe(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: goside client|serve FLAGS")
		os.Exit(2)
	}
}

// ---- client ----

// newTransport offers h2 and http/1.1 as Go's default transport does
// (a custom TLSClientConfig turns HTTP/2 off unless forced).
func newTransport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
		MaxIdleConns:      10,
		IdleConnTimeout:   30 * time.Second,
	}
}

type tracedClient struct {
	c        *http.Client
	newConns int
	reused   int
}

func (tc *tracedClient) do(req *http.Request) *http.Response {
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if i.Reused {
			tc.reused++
		} else {
			tc.newConns++
		}
	}}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := tc.c.Do(req)
	if err != nil {
		fail("%s %s: %v", req.Method, req.URL, err)
	}
	return resp
}

// read returns the whole body and checks the status and the protocol of
// every response: HTTP/1.1 over TLS with http/1.1 chosen by ALPN.
func read(what string, resp *http.Response) []byte {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		fail("%s: reading the body: %v", what, err)
	}
	if resp.StatusCode != 200 {
		fail("%s: status %d %q", what, resp.StatusCode, body)
	}
	if resp.Proto != "HTTP/1.1" || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		fail("%s: protocol %s, want HTTP/1.1", what, resp.Proto)
	}
	if resp.TLS == nil || !resp.TLS.HandshakeComplete {
		fail("%s: not over TLS", what)
	}
	if resp.TLS.NegotiatedProtocol != "http/1.1" {
		fail("%s: ALPN chose %q, want http/1.1", what, resp.TLS.NegotiatedProtocol)
	}
	if len(resp.TLS.VerifiedChains) == 0 {
		fail("%s: no verified chain", what)
	}
	return body
}

func serverStats(tc *tracedClient, base string) map[string]int {
	req, _ := http.NewRequest("GET", base+"/stats", nil)
	body := read("stats", tc.do(req))
	out := map[string]int{}
	f := strings.Fields(string(body))
	for i := 0; i+1 < len(f); i += 2 {
		n, err := strconv.Atoi(f[i+1])
		if err != nil {
			fail("stats: %q", body)
		}
		out[f[i]] = n
	}
	return out
}

func runClient(args []string) {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	base := fs.String("url", "", "https://127.0.0.1:PORT")
	caFile := fs.String("ca", "", "the server's CA")
	wrongCA := fs.String("wrong-ca", "", "an unrelated CA")
	fs.Parse(args)
	if *base == "" || *caFile == "" || *wrongCA == "" {
		fail("client needs -url, -ca and -wrong-ca")
	}
	tr := newTransport(pool(*caFile))
	tc := &tracedClient{c: &http.Client{Transport: tr, Timeout: 10 * time.Second}}

	// GET: one connection, reused for every later request.
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest("GET", *base+"/hello", nil)
		if body := read("GET /hello", tc.do(req)); string(body) != "hello, tls\n" {
			fail("GET /hello %d: %q", i, body)
		}
	}
	// The transport offered h2 (Go adds it and http/1.1 when HTTP/2 is
	// on), yet the responses above were HTTP/1.1 with http/1.1 chosen.
	offered := strings.Join(tr.TLSClientConfig.NextProtos, ",")
	if offered != "h2,http/1.1" {
		fail("Go offered ALPN %q, want h2,http/1.1", offered)
	}

	// POST: a small body and a large one, echoed.
	for _, size := range []int{5, 300000} {
		payload := pattern(size + 3)[3:]
		req, _ := http.NewRequest("POST", *base+"/echo", bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/octet-stream")
		if body := read("POST /echo", tc.do(req)); !bytes.Equal(body, payload) {
			fail("POST /echo %d bytes: got %d bytes back", size, len(body))
		}
	}
	// A chunked upload (unknown length).
	payload := pattern(70001)
	req, _ := http.NewRequest("POST", *base+"/echo", io.MultiReader(bytes.NewReader(payload)))
	req.ContentLength = -1
	if body := read("chunked POST /echo", tc.do(req)); !bytes.Equal(body, payload) {
		fail("chunked POST /echo: got %d bytes back", len(body))
	}

	// 1 MiB, byte for byte, with its length announced.
	req, _ = http.NewRequest("GET", *base+"/big", nil)
	resp := tc.do(req)
	if resp.ContentLength != 1<<20 {
		fail("GET /big: Content-Length %d", resp.ContentLength)
	}
	if body := read("GET /big", resp); !bytes.Equal(body, pattern(1<<20)) {
		fail("GET /big: %d bytes, not the pattern", len(body))
	}

	st := serverStats(tc, *base)
	if tc.newConns != 1 || tc.reused != 24 {
		fail("keep-alive: %d new connections, %d reused (want 1, 24)", tc.newConns, tc.reused)
	}
	if st["accepted"] != 1 || st["requests"] != 25 {
		fail("server saw %v, want 1 connection and 25 requests", st)
	}

	// ALPN on a bare TLS connection: h2 preferred by the client, http/1.1
	// chosen by the server.
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", strings.TrimPrefix(*base, "https://"),
		&tls.Config{RootCAs: pool(*caFile), NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		fail("tls.Dial: %v", err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		fail("tls.Dial offering h2,http/1.1: server chose %q", p)
	}
	conn.Close()

	// TLS 1.3 by default; TLS 1.2 when Go offers no more; and a session
	// resumed on a second connection (from a TLS 1.3 ticket, then from a
	// TLS 1.2 ticket).
	if ver := tlsVersionOf(tc, *base); ver != tls.VersionTLS13 {
		fail("default version %#x, want TLS 1.3", ver)
	}
	for _, max := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		rt := newTransport(pool(*caFile))
		rt.TLSClientConfig.MaxVersion = max
		rt.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		rt.DisableKeepAlives = true
		rc := &tracedClient{c: &http.Client{Transport: rt, Timeout: 10 * time.Second}}
		for i := 0; i < 2; i++ {
			req, _ := http.NewRequest("GET", *base+"/hello", nil)
			resp := rc.do(req)
			if resp.TLS.Version != max {
				fail("MaxVersion %#x: negotiated %#x", max, resp.TLS.Version)
			}
			if resp.TLS.DidResume != (i == 1) {
				fail("version %#x, connection %d: DidResume %v", max, i+1, resp.TLS.DidResume)
			}
			if body := read("GET /hello", resp); string(body) != "hello, tls\n" {
				fail("GET /hello: %q", body)
			}
		}
		if rc.newConns != 2 {
			fail("DisableKeepAlives: %d connections for 2 requests", rc.newConns)
		}
	}

	// An untrusted CA (an unrelated one, then the system's roots): Go
	// refuses the server's certificate.
	for _, roots := range []*x509.CertPool{pool(*wrongCA), nil} {
		bad := &http.Client{Transport: newTransport(roots), Timeout: 10 * time.Second}
		resp, err := bad.Get(*base + "/hello")
		if err == nil {
			resp.Body.Close()
			fail("a server signed by an untrusted CA was accepted")
		}
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			fail("untrusted CA: %v, want x509.UnknownAuthorityError", err)
		}
	}
	// The server counts the refused handshakes (when it reads Go's alert,
	// which may come after the next request) and still serves.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st = serverStats(tc, *base)
		if st["tls_handshake_errors"] == 2 {
			break
		}
		if st["tls_handshake_errors"] > 2 || time.Now().After(deadline) {
			fail("server saw %v, want 2 refused handshakes", st)
		}
	}
	if tc.newConns != 1 {
		fail("keep-alive: %d connections", tc.newConns)
	}
	fmt.Fprintln(os.Stderr, "goside client: ok")
}

func tlsVersionOf(tc *tracedClient, base string) uint16 {
	req, _ := http.NewRequest("GET", base+"/hello", nil)
	resp := tc.do(req)
	read("GET /hello", resp)
	return resp.TLS.Version
}

// ---- server ----

func serveMux(conns *int64) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello, tls\n")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<20))
		w.Write(pattern(1 << 20))
	})
	// What the server saw of this request's connection.
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		client := "none"
		if len(r.TLS.VerifiedChains) > 0 {
			client = r.TLS.VerifiedChains[0][0].Subject.CommonName
		}
		version := map[uint16]string{tls.VersionTLS12: "1.2", tls.VersionTLS13: "1.3"}[r.TLS.Version]
		fmt.Fprintf(w, "proto %s tls %s alpn %s sni %s client %s", r.Proto, orNone(version),
			r.TLS.NegotiatedProtocol, orNone(r.TLS.ServerName), client)
	})
	mux.HandleFunc("/conns", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d", atomic.LoadInt64(conns))
	})
	return mux
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func start(cert tls.Certificate, clientCAs *x509.CertPool, auth tls.ClientAuthType,
	maxVersion uint16, idle time.Duration) (*http.Server, int) {
	var conns int64
	srv := &http.Server{
		Handler:           serveMux(&conns),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       idle,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: clientCAs,
			ClientAuth: auth, MaxVersion: maxVersion},
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				atomic.AddInt64(&conns, 1)
			}
		},
		ErrorLog: nil,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != http.ErrServerClosed {
			fail("serve: %v", err)
		}
	}()
	return srv, ln.Addr().(*net.TCPAddr).Port
}

func runServe(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	certFile := fs.String("cert", "", "server certificate")
	keyFile := fs.String("key", "", "server key")
	clientCA := fs.String("client-ca", "", "CA for client certificates")
	fs.Parse(args)
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fail("loading the key pair: %v", err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	plain, port := start(cert, nil, tls.NoClientCert, 0, 0)
	mtls, mport := start(cert, pool(*clientCA), tls.RequireAndVerifyClientCert, 0, 0)
	mtls12, m12port := start(cert, pool(*clientCA), tls.RequireAndVerifyClientCert,
		tls.VersionTLS12, 0)
	idle, iport := start(cert, nil, tls.NoClientCert, 0, 200*time.Millisecond)
	fmt.Printf("port %d\nmtls_port %d\nmtls12_port %d\nidle_port %d\n", port, mport, m12port, iport)
	os.Stdout.Sync()
	<-sigs
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range []*http.Server{plain, mtls, mtls12, idle} {
		if err := s.Shutdown(ctx); err != nil {
			fail("shutdown: %v", err)
		}
	}
}
