// The Go net/http peer of the HTTP benchmark: the stock server, one handler
// writing the 13 bytes "hello, world\n" as text/plain. The benchmark runs it
// with GOMAXPROCS=1 (one thread running Go code, as every other server gets
// one thread).
package main

import (
	"flag"
	"log"
	"net/http"
)

var body = []byte("hello, world\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:18082", "listen address HOST:PORT")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
