// The Go net/http peer of the HTTP benchmark: the stock server, one handler
// writing the 13 bytes "hello, world\n" as text/plain. The benchmark runs it
// with GOMAXPROCS=1 (one thread running Go code, as every other server gets
// one thread). With -tls-cert and -tls-key it serves HTTPS (TLS 1.3 only,
// ListenAndServeTLS), the peer of bench/https.
package main

import (
	"crypto/tls"
	"flag"
	"log"
	"net/http"
)

var body = []byte("hello, world\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:18082", "listen address HOST:PORT")
	cert := flag.String("tls-cert", "", "PEM certificate chain: serve HTTPS")
	key := flag.String("tls-key", "", "PEM private key of -tls-cert")
	noResume := flag.Bool("tls-no-resume", false, "send no session tickets: every handshake is a full one")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	if *cert != "" {
		srv := &http.Server{Addr: *addr, TLSConfig: &tls.Config{
			MinVersion: tls.VersionTLS13, SessionTicketsDisabled: *noResume}}
		log.Fatal(srv.ListenAndServeTLS(*cert, *key))
	}
	log.Fatal(http.ListenAndServe(*addr, nil))
}
