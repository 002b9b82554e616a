// goecho is Go's net/http server with the handler of tests/http1/echo.h,
// for the request vectors' differential (tests/http1/differential.py):
// the same paths, the same echo line. Listens on 127.0.0.1:0, prints
// "port N", and serves until killed.
package main

import (
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// escape writes printable ASCII as is, anything else as \xHH.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	return b.String()
}

func orDash(vals []string) string {
	if len(vals) == 0 {
		return "-"
	}
	return escape(vals[0])
}

func handler(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/status/") {
		n, _ := strconv.Atoi(r.URL.Path[8:])
		w.WriteHeader(n)
		io.WriteString(w, "must not be sent")
		return
	}
	if r.URL.Path == "/noread" {
		io.WriteString(w, "unread")
		return
	}
	if r.URL.Path == "/early" {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(103)
		w.Header().Del("Link")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(400)
		io.WriteString(w, "bad body\n")
		return
	}
	v := "1.0"
	if r.ProtoAtLeast(1, 1) {
		v = "1.1"
	}
	b := escape(string(body))
	if len(body) > 32 {
		h := fnv.New32a()
		h.Write(body)
		b = fmt.Sprintf("fnv%08x", h.Sum32())
	}
	fmt.Fprintf(w, "%s %s v=%s host=%s x=%s body=%d:%s trailer=%s\n", r.Method, r.RequestURI, v,
		escape(r.Host), orDash(r.Header.Values("X-Echo")), len(body), b,
		orDash(r.Trailer.Values("X-T")))
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	srv := &http.Server{Handler: http.HandlerFunc(handler), ErrorLog: nil}
	srv.Serve(ln)
}
