// WebSocket echo server on gorilla/websocket, a peer for nethttp's client;
// it speaks the protocol described in ../py_server.py. Gorilla leaves UTF-8
// checks to the application (its documentation says so): this server
// checks text messages itself and closes with 1007, as an application on
// gorilla must. Writes go out in frames of at most 1000 bytes (the write
// buffer), so "!frag" and every longer message arrive fragmented.
// Prints "port N", then "closed PATH CODE REASON" as each connection ends.
package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

var frag = strings.Repeat("0123456789", 300)

var upgrader = websocket.Upgrader{
	EnableCompression: true,
	WriteBufferSize:   1000,
	CheckOrigin:       func(*http.Request) bool { return true },
}

func closeWith(c *websocket.Conn, code int, reason string) {
	c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(10*time.Second))
}

func command(c *websocket.Conn, r *http.Request, msg string) error {
	verb, arg, _ := strings.Cut(msg, " ")
	switch verb {
	case "!close":
		code, reason, _ := strings.Cut(arg, " ")
		n, _ := strconv.Atoi(code)
		closeWith(c, n, reason)
		return nil
	case "!ping":
		c.SetPongHandler(func(p string) error { return c.WriteMessage(websocket.TextMessage, []byte("pong "+p)) })
		return c.WriteControl(websocket.PingMessage, []byte(arg), time.Now().Add(10*time.Second))
	case "!frag":
		return c.WriteMessage(websocket.TextMessage, []byte(frag))
	case "!badutf8":
		return c.WriteMessage(websocket.TextMessage, []byte("abc\xff"))
	case "!big":
		n, _ := strconv.Atoi(arg)
		return c.WriteMessage(websocket.BinaryMessage, []byte(strings.Repeat("x", n)))
	case "!ext":
		// Gorilla agrees to permessage-deflate whenever the client offers it.
		on := "none"
		if strings.Contains(strings.Join(r.Header.Values("Sec-WebSocket-Extensions"), ","), "permessage-deflate") {
			on = "permessage-deflate"
		}
		return c.WriteMessage(websocket.TextMessage, []byte(on))
	}
	return c.WriteMessage(websocket.TextMessage, []byte(msg))
}

func serve(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetReadLimit(1 << 20)
	if strings.HasPrefix(r.URL.Path, "/small") {
		c.SetReadLimit(1000)
	}
	for {
		t, msg, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				fmt.Printf("closed %s %d %s\n", r.URL.Path, ce.Code, ce.Text)
			} else {
				fmt.Printf("closed %s 1006 %v\n", r.URL.Path, err)
			}
			return
		}
		if t == websocket.TextMessage && !utf8.Valid(msg) {
			closeWith(c, websocket.CloseInvalidFramePayloadData, "")
			continue // read on, for the client's close
		}
		if t == websocket.TextMessage && strings.HasPrefix(string(msg), "!") {
			err = command(c, r, string(msg))
		} else {
			err = c.WriteMessage(t, msg)
		}
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			fmt.Printf("closed %s 1006 %v\n", r.URL.Path, err)
			return
		}
	}
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	http.Serve(ln, http.HandlerFunc(serve))
}
