// Go's net/http client speaking HTTP/2 (by ALPN, over TLS) to nethttp's
// server (tests/peers/tls/tls_peer.c serve): every answer must come over
// HTTP/2.0 with "h2" negotiated, bodies both ways must arrive whole, and
// concurrent requests must share one connection.
// Usage: h2goclient -url https://127.0.0.1:PORT -ca CA.pem
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// check sends req and returns the body of a 200 answered over HTTP/2.
func check(c *http.Client, req *http.Request) []byte {
	resp, err := c.Do(req)
	if err != nil {
		fail("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fail("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	if resp.Proto != "HTTP/2.0" || resp.ProtoMajor != 2 {
		fail("%s %s: Proto %q, want HTTP/2.0", req.Method, req.URL.Path, resp.Proto)
	}
	if resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
		fail("%s %s: ALPN did not choose h2", req.Method, req.URL.Path)
	}
	if resp.StatusCode != 200 {
		fail("%s %s: status %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	return body
}

func get(c *http.Client, url string) []byte {
	req, _ := http.NewRequest("GET", url, nil)
	return check(c, req)
}

func main() {
	base := flag.String("url", "", "https://127.0.0.1:PORT")
	caFile := flag.String("ca", "", "the CA certificate to trust")
	flag.Parse()
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fail("reading %s: %v", *caFile, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		fail("no certificate in %s", *caFile)
	}
	// A custom TLS configuration turns Go's automatic HTTP/2 off unless
	// asked for again.
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
	}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	if b := get(c, *base+"/hello"); string(b) != "hello, tls\n" {
		fail("/hello: body %q", b)
	}
	// A 1 MiB upload echoed back, and a 1 MiB download.
	up := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	req, _ := http.NewRequest("POST", *base+"/echo", bytes.NewReader(up))
	if b := check(c, req); !bytes.Equal(b, up) {
		fail("/echo: %d bytes back of %d", len(b), len(up))
	}
	if b := get(c, *base+"/big"); len(b) != 1<<20 {
		fail("/big: %d bytes", len(b))
	}
	// An upload of unknown length (no Content-Length: DATA frames only).
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 64; i++ {
			pw.Write([]byte(strings.Repeat("x", 1000)))
		}
		pw.Close()
	}()
	req, _ = http.NewRequest("POST", *base+"/echo", pr)
	if b := check(c, req); len(b) != 64000 {
		fail("/echo of unknown length: %d bytes back", len(b))
	}
	// 32 requests at once: streams of the one connection.
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b := get(c, *base+"/hello"); string(b) != "hello, tls\n" {
				fail("concurrent /hello: body %q", b)
			}
		}()
	}
	wg.Wait()
	stats := string(get(c, *base+"/stats"))
	if !strings.HasPrefix(stats, "accepted 1 ") {
		fail("every request should have used one connection; server: %s", stats)
	}
	fmt.Println("h2goclient: all checks passed;", stats)
}
