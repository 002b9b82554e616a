// goserver is Go's net/http server (an independent implementation) for the
// nethttp client to talk to: echo of the request as JSON, chunked bodies
// with trailers, gzip, redirects, bodiless statuses, Connection: close,
// answers to uploads it does not read, and a handler that never answers. Listens on 127.0.0.1:0, prints "port N",
// and serves until killed.
package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]interface{}{
		"method": r.Method,
		"path":   r.URL.Path,
		"header": r.Header,
		"length": r.ContentLength,
		"te":     r.TransferEncoding,
		"body":   string(body),
	})
}

// The bytes of /big and /chunked: position i holds 'a'+i%26.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("/echo", echo)
	mux.HandleFunc("/echo/", echo)
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(pattern(n))
	})
	// Flushed pieces: no Content-Length, so chunked; a trailer at the end.
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		p := pattern(100000)
		for off := 0; off < len(p); off += 7000 {
			end := off + 7000
			if end > len(p) {
				end = len(p)
			}
			w.Write(p[off:end])
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Sum", strconv.Itoa(len(p)))
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		text := strings.Repeat("compressible text ", 1000)
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			io.WriteString(w, text)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/plain")
		gz := gzip.NewWriter(w)
		io.WriteString(gz, text)
		gz.Close()
	})
	// Streamed with no length: a GET gets it chunked, a HEAD gets neither
	// Content-Length nor Transfer-Encoding (and the connection stays open).
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Write(pattern(100000))
	})
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/redirect/"))
		http.Redirect(w, r, "/echo", code)
	})
	mux.HandleFunc("/redirect-to", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("url"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.Header().Set("X-Status", strconv.Itoa(code))
		w.WriteHeader(code)
	})
	// Answers without reading the body (the server then closes: more than
	// 256 KiB left unread).
	mux.HandleFunc("/reject/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/reject/"))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		fmt.Fprintf(w, "rejected %d without reading\n", code)
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	// 103 Early Hints before the final answer.
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "final")
	})
	// A few body bytes, then nothing: the client's body-stall timeout ends it.
	mux.HandleFunc("/stall", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	})
	// Never answers: the client's response-header timeout must end it.
	mux.HandleFunc("/blackhole", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	srv.Serve(ln)
}
