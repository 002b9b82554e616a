// h2goserver is Go's net/http server over TLS, where it speaks HTTP/2 by
// ALPN with its bundled x/net/http2: a reference peer for h2spec
// (tests/http2/h2spec.sh). Usage: h2goserver CERT KEY. Listens on
// 127.0.0.1:0, prints "port N", and serves a small page until killed.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: h2goserver CERT KEY")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>h2 peer</body></html>\n")
	})
	srv := &http.Server{Handler: h}
	fmt.Fprintln(os.Stderr, srv.ServeTLS(ln, os.Args[1], os.Args[2]))
	os.Exit(1)
}
