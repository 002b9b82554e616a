// WebSocket echo server on gorilla/websocket for bench/websocket/run.sh:
// every path upgrades with the Upgrader's defaults (no compression, the
// buffers of net/http's hijacked connection reused), then reads each
// message and writes it back (gorilla's own echo example).
//
//	go_echo -addr 127.0.0.1:PORT
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gorilla/websocket"
)

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		t, p, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(t, p); err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18390", "listen address")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(echo)))
}
