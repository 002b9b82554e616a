// goclient drives a nethttp server with Go's net/http client, an
// independent implementation: keep-alive reuse, pipelined-free sequential
// and concurrent requests, Content-Length and chunked uploads, Expect:
// 100-continue, HEAD, and large chunked downloads.
// Usage: goclient BASE_URL   (exit 0 and "goclient: ok" on success)
package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"time"
)

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "goclient: FAIL: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	base := os.Args[1]
	client := &http.Client{Timeout: 10 * time.Second}

	// 200 sequential requests: one connection, reused.
	newConns := 0
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			newConns++
		}
	}}
	for i := 0; i < 200; i++ {
		req, _ := http.NewRequest("GET", base+"/hello", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := client.Do(req)
		if err != nil {
			fail("GET %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello, world\n" {
			fail("GET %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if newConns != 1 {
		fail("keep-alive: %d connections for 200 sequential requests", newConns)
	}

	// Uploads: known length, chunked (unknown length), and 100-continue.
	payload := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB
	want := fmt.Sprintf("%x", sha256.Sum256(payload))
	check := func(name string, req *http.Request) {
		resp, err := client.Do(req)
		if err != nil {
			fail("%s: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want {
			fail("%s: %d %q", name, resp.StatusCode, body)
		}
	}
	req, _ := http.NewRequest("POST", base+"/sha256", bytes.NewReader(payload))
	check("content-length upload", req)
	req, _ = http.NewRequest("POST", base+"/sha256", io.MultiReader(bytes.NewReader(payload)))
	req.ContentLength = -1
	check("chunked upload", req)
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	c2 := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, _ = http.NewRequest("POST", base+"/sha256", bytes.NewReader(payload))
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	resp, err := c2.Do(req)
	if err != nil {
		fail("100-continue: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != want {
		fail("100-continue body %q", body)
	}
	if time.Since(start) > 2*time.Second { // the server answered 100 at once
		fail("100-continue took %v", time.Since(start))
	}

	// HEAD: headers without a body.
	resp, err = client.Head(base + "/hello")
	if err != nil || resp.StatusCode != 200 || resp.ContentLength != 13 {
		fail("HEAD: %v %v", err, resp)
	}
	resp.Body.Close()

	// A large chunked download, read to the end.
	resp, err = client.Get(base + "/big")
	if err != nil {
		fail("big: %v", err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != 4<<20 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		fail("big: %d bytes, %v", n, resp.TransferEncoding)
	}

	// 64 concurrent clients, 20 requests each.
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				resp, err := client.Post(base+"/sha256", "text/plain", strings.NewReader("x"))
				if err != nil {
					errs <- err.Error()
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- resp.Status
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		fail("concurrent: %s", e)
	}
	fmt.Println("goclient: ok")
}
