// httpbin_goclient drives `nethttp httpbin` with Go's net/http client, an
// independent implementation: JSON echoes, multipart uploads, redirects
// followed by the client, a cookie jar, basic auth, transparent gzip,
// ranges, slow bodies and server-sent events read as they arrive, many
// concurrent delays, and a request abandoned by its context.
// Usage: httpbin_goclient BASE_URL   (exit 0 and "ok" on success)
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"
)

var base string

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "httpbin_goclient: FAIL: "+format+"\n", a...)
	os.Exit(1)
}

// do sends req and returns the status and body.
func do(c *http.Client, req *http.Request) (*http.Response, []byte) {
	resp, err := c.Do(req)
	if err != nil {
		fail("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fail("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp, body
}

func get(c *http.Client, path string) (*http.Response, []byte) {
	req, _ := http.NewRequest("GET", base+path, nil)
	return do(c, req)
}

// echo is the shape of /get, /post and friends.
type echo struct {
	Args    map[string][]string `json:"args"`
	Headers map[string][]string `json:"headers"`
	Method  string              `json:"method"`
	Origin  string              `json:"origin"`
	URL     string              `json:"url"`
	Data    string              `json:"data"`
	Files   map[string][]string `json:"files"`
	Form    map[string][]string `json:"form"`
	JSON    interface{}         `json:"json"`
	Gzipped bool                `json:"gzipped"`
}

func decode(body []byte, v interface{}) {
	if err := json.Unmarshal(body, v); err != nil {
		fail("bad JSON %q: %v", body, err)
	}
}

func main() {
	base = strings.TrimRight(os.Args[1], "/")
	client := &http.Client{Timeout: 10 * time.Second}

	// /get: args, headers, url.
	req, _ := http.NewRequest("GET", base+"/get?q=go&q=c", nil)
	req.Header.Set("X-Go", "yes")
	resp, body := do(client, req)
	var e echo
	decode(body, &e)
	if resp.StatusCode != 200 || !reflect.DeepEqual(e.Args["q"], []string{"go", "c"}) ||
		e.Headers["X-Go"][0] != "yes" || e.URL != base+"/get?q=go&q=c" || e.Method != "GET" {
		fail("/get: %d %+v", resp.StatusCode, e)
	}

	// Multipart upload built by mime/multipart.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "gopher")
	fw, _ := mw.CreateFormFile("file", "f.bin")
	fw.Write([]byte("file contents"))
	mw.Close()
	req, _ = http.NewRequest("POST", base+"/post", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, body = do(client, req)
	e = echo{}
	decode(body, &e)
	if resp.StatusCode != 200 || e.Form["name"][0] != "gopher" || e.Files["file"][0] != "file contents" {
		fail("multipart: %d %s", resp.StatusCode, body)
	}

	// JSON body, chunked (unknown length).
	req, _ = http.NewRequest("PUT", base+"/put", io.MultiReader(strings.NewReader(`{"k":[1,"two"]}`)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	resp, body = do(client, req)
	e = echo{}
	decode(body, &e)
	if !reflect.DeepEqual(e.JSON, map[string]interface{}{"k": []interface{}{1.0, "two"}}) {
		fail("chunked JSON: %s", body)
	}

	// Redirects: the client follows them all, counting.
	hops := 0
	rc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		hops++
		return nil
	}}
	resp, body = get(rc, "/absolute-redirect/4")
	if resp.StatusCode != 200 || hops != 4 || resp.Request.URL.Path != "/get" {
		fail("redirects: %d after %d hops to %s", resp.StatusCode, hops, resp.Request.URL)
	}
	resp, _ = get(rc, "/redirect-to?url="+url.QueryEscape("/anything/landed")+"&status_code=308")
	if resp.Request.URL.Path != "/anything/landed" {
		fail("redirect-to 308 landed at %s", resp.Request.URL)
	}

	// Cookie jar.
	jar, _ := cookiejar.New(nil)
	jc := &http.Client{Timeout: 10 * time.Second, Jar: jar}
	_, body = get(jc, "/cookies/set?session=abc&theme=dark")
	var cookies map[string]string
	decode(body, &cookies)
	if !reflect.DeepEqual(cookies, map[string]string{"session": "abc", "theme": "dark"}) {
		fail("cookies: %s", body)
	}
	_, body = get(jc, "/cookies/delete?theme")
	cookies = nil
	decode(body, &cookies)
	if !reflect.DeepEqual(cookies, map[string]string{"session": "abc"}) {
		fail("cookie delete: %s", body)
	}

	// Basic auth and bearer.
	req, _ = http.NewRequest("GET", base+"/basic-auth/u/p", nil)
	req.SetBasicAuth("u", "p")
	if resp, _ = do(client, req); resp.StatusCode != 200 {
		fail("basic auth: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", base+"/basic-auth/u/p", nil)
	req.SetBasicAuth("u", "nope")
	if resp, _ = do(client, req); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		fail("basic auth refused: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", base+"/bearer", nil)
	req.Header.Set("Authorization", "Bearer t0k")
	if resp, body = do(client, req); resp.StatusCode != 200 || !strings.Contains(string(body), `"t0k"`) {
		fail("bearer: %d %s", resp.StatusCode, body)
	}

	// Transparent gzip: the Transport asks for it and decompresses.
	resp, body = get(client, "/gzip")
	e = echo{}
	decode(body, &e)
	if !resp.Uncompressed || !e.Gzipped {
		fail("gzip: uncompressed=%v %s", resp.Uncompressed, body)
	}

	// Ranges and bytes.
	req, _ = http.NewRequest("GET", base+"/range/52", nil)
	req.Header.Set("Range", "bytes=25-27")
	if resp, body = do(client, req); resp.StatusCode != 206 || string(body) != "zab" {
		fail("range: %d %q", resp.StatusCode, body)
	}
	_, b1 := get(client, "/bytes/4096?seed=99")
	_, b2 := get(client, "/stream-bytes/4096?seed=99&chunk_size=1000")
	if len(b1) != 4096 || !bytes.Equal(b1, b2) {
		fail("bytes with one seed differ")
	}

	// A slow body: /drip writes 4 bytes over 0.9 s, with a Content-Length.
	start := time.Now()
	resp, body = get(client, "/drip?numbytes=4&duration=0.9&delay=0")
	if resp.ContentLength != 4 || string(body) != "****" || time.Since(start) < 850*time.Millisecond {
		fail("drip: length %d body %q in %v", resp.ContentLength, body, time.Since(start))
	}

	// Server-sent events arrive one by one.
	resp, err := client.Get(base + "/sse?count=3&duration=0.6")
	if err != nil {
		fail("sse: %v", err)
	}
	r := bufio.NewReader(resp.Body)
	var stamps []time.Duration
	start = time.Now()
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			fail("sse read: %v", err)
		}
		if strings.HasPrefix(line, "data: ") {
			stamps = append(stamps, time.Since(start))
		}
	}
	resp.Body.Close()
	if len(stamps) != 3 || stamps[0] > 200*time.Millisecond || stamps[2] < 500*time.Millisecond {
		fail("sse arrival times %v", stamps)
	}

	// 50 concurrent half-second delays: parked, not queued.
	var wg sync.WaitGroup
	errs := make(chan string, 50)
	start = time.Now()
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(base + "/delay/0.5")
			if err != nil {
				errs <- err.Error()
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- resp.Status
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		fail("concurrent delay: %s", e)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		fail("50 concurrent 0.5 s delays took %v", d)
	}

	// A request abandoned by its context returns early.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	req, _ = http.NewRequestWithContext(ctx, "GET", base+"/delay/2", nil)
	start = time.Now()
	if _, err := client.Do(req); err == nil || time.Since(start) > time.Second {
		fail("abandoned delay: err=%v after %v", err, time.Since(start))
	}
	cancel()

	// Limits: a body over --max-body-size is 413 (declared up front), a
	// delay over --max-duration is 400.
	req, _ = http.NewRequest("POST", base+"/post", bytes.NewReader(make([]byte, 200000)))
	if resp, _ = do(client, req); resp.StatusCode != 413 {
		fail("oversized body: %d", resp.StatusCode)
	}
	if resp, _ = get(client, "/delay/60"); resp.StatusCode != 400 {
		fail("delay over the limit: %d", resp.StatusCode)
	}
	fmt.Println("httpbin_goclient: ok")
}
