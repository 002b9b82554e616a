// WebSocket client on gorilla/websocket, a peer for nethttp's server.
//
//	goclient BASE all      the scenarios of ../run.sh (as ../py_client.py)
//	goclient BASE hold N   N connections; each must get close 1001, then
//	                       the server must close the TCP connection
//
// Prints "ok STEP", "expect PATH CODE REASON" for each close the server must
// report ("*": any reason); exits 1 at the first failure. Gorilla sends
// fragments only when a message outgrows its write buffer: the dialer's
// is 1000 bytes, so a 3000-byte message goes out in 3 frames. Gorilla
// leaves UTF-8 checks to the application: this client checks text
// messages and closes with 1007, as an application on gorilla must.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

var codes = []int{1000, 1001, 1003, 1007, 1008, 1009, 1011, 3000, 4999}
var frag = strings.Repeat("0123456789", 300)

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", a...)
	os.Exit(1)
}

func ok(step string) { fmt.Println("ok " + step) }

func dial(url string, compress bool, limit int64) (*websocket.Conn, *http.Response) {
	d := websocket.Dialer{EnableCompression: compress, WriteBufferSize: 1000, HandshakeTimeout: 30 * time.Second}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		fail("dial %s: %v", url, err)
	}
	c.SetReadLimit(limit)
	c.SetReadDeadline(time.Now().Add(120 * time.Second))
	return c, resp
}

func recv(c *websocket.Conn, step string) (int, []byte) {
	t, p, err := c.ReadMessage()
	if err != nil {
		fail("%s: %v", step, err)
	}
	if t == websocket.TextMessage && !utf8.Valid(p) {
		fail("%s: text that is not UTF-8", step)
	}
	return t, p
}

func echo(c *websocket.Conn, t int, p []byte, step string) {
	if err := c.WriteMessage(t, p); err != nil {
		fail("%s: %v", step, err)
	}
	gt, gp := recv(c, step)
	if gt != t || !bytes.Equal(gp, p) {
		fail("%s: echo differs (type %d, %d bytes)", step, gt, len(gp))
	}
	ok(step)
}

// closedByServer reads until the server's close (gorilla answers it) and
// then until the server closes the TCP connection.
func closedByServer(c *websocket.Conn, validate bool) (int, string) {
	code, reason := websocket.CloseAbnormalClosure, ""
	for {
		t, p, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code, reason = ce.Code, ce.Text
			}
			break
		}
		if validate && t == websocket.TextMessage && !utf8.Valid(p) {
			c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1007, ""), time.Now().Add(10*time.Second))
		}
	}
	raw := c.UnderlyingConn()
	raw.SetReadDeadline(time.Now().Add(60 * time.Second))
	var b [64]byte
	for {
		_, err := raw.Read(b[:])
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			fail("the server did not close the connection after close %d", code)
		}
		if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
			fail("after close %d: %v", code, err)
		}
		break
	}
	c.Close()
	return code, reason
}

// clientClose sends a close and waits for the server's answer.
func clientClose(c *websocket.Conn, code int, reason string) {
	c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(10*time.Second))
	closedByServer(c, false)
}

func scenarios(base string) {
	c, _ := dial(base+"/echo/plain", false, 1<<20)
	echo(c, websocket.TextMessage, []byte("héllo wörld ✓"), "text")
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	echo(c, websocket.BinaryMessage, b, "binary")
	echo(c, websocket.TextMessage, []byte{}, "empty text")
	echo(c, websocket.BinaryMessage, []byte{}, "empty binary")
	big := make([]byte, 300*1024)
	for i := range big {
		big[i] = byte(i * 7 % 251)
	}
	echo(c, websocket.BinaryMessage, big, "large 300 KB")
	echo(c, websocket.TextMessage, []byte(frag), "fragments sent")
	c.WriteMessage(websocket.TextMessage, []byte("!frag"))
	if _, p := recv(c, "fragments received"); string(p) != frag {
		fail("fragments received: message differs")
	}
	ok("fragments received")
	pong := ""
	c.SetPongHandler(func(p string) error { pong = p; return nil })
	c.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(10*time.Second))
	echo(c, websocket.TextMessage, []byte("after the ping"), "echo after ping")
	if pong != "are you there" {
		fail("ping: pong %q", pong)
	}
	ok("ping answered")
	c.WriteMessage(websocket.TextMessage, []byte("!ping from-server"))
	if _, p := recv(c, "server ping"); string(p) != "pong from-server" {
		fail("server ping: got %q", p)
	}
	ok("server ping answered")
	clientClose(c, 1000, "bye")
	fmt.Println("expect /echo/plain 1000 bye")

	c, resp := dial(base+"/echo/deflate", true, 1<<20)
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
		fail("compression: not negotiated (%q)", ext)
	}
	c.WriteMessage(websocket.TextMessage, []byte("!ext"))
	if _, p := recv(c, "compression"); string(p) != "permessage-deflate" {
		fail("compression: server says %q", p)
	}
	echo(c, websocket.TextMessage, []byte(strings.Repeat("compressible text ", 2000)), "compressed text")
	low := make([]byte, 300*1024)
	for i := range low {
		low[i] = byte(i % 16)
	}
	echo(c, websocket.BinaryMessage, low, "compressed binary 300 KB")
	echo(c, websocket.TextMessage, []byte("short"), "compressed short text")
	clientClose(c, 1000, "")
	fmt.Println("expect /echo/deflate 1000 *")

	for _, code := range codes {
		c, _ = dial(fmt.Sprintf("%s/echo/server-%d", base, code), false, 1<<20)
		c.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf("!close %d server-%d", code, code)))
		gc, gr := closedByServer(c, false)
		if gc != code || gr != fmt.Sprintf("server-%d", code) {
			fail("server close %d: got %d %q", code, gc, gr)
		}
	}
	ok("close codes from the server")
	for _, code := range codes {
		c, _ = dial(fmt.Sprintf("%s/echo/client-%d", base, code), false, 1<<20)
		clientClose(c, code, fmt.Sprintf("client-%d", code))
		fmt.Printf("expect /echo/client-%d %d client-%d\n", code, code, code)
	}
	ok("close codes to the server")

	c, _ = dial(base+"/echo/badutf8-sent", false, 1<<20)
	c.WriteMessage(websocket.TextMessage, []byte("abc\xff"))
	if gc, _ := closedByServer(c, false); gc != 1007 {
		fail("invalid UTF-8 sent: close %d, not 1007", gc)
	}
	ok("invalid UTF-8 sent: 1007")
	c, _ = dial(base+"/echo/badutf8", false, 1<<20)
	c.WriteMessage(websocket.TextMessage, []byte("!badutf8"))
	if t, p, err := c.ReadMessage(); err == nil && t == websocket.TextMessage && strings.HasPrefix(string(p), "refused") {
		// A server that will not send invalid UTF-8 says so instead.
		ok("invalid UTF-8 received: not sent, the server says: " + string(p))
		clientClose(c, 1000, "")
	} else {
		if err != nil || t != websocket.TextMessage || utf8.Valid(p) {
			fail("invalid UTF-8 received: got type %d %q, %v", t, p, err)
		}
		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1007, ""), time.Now().Add(10*time.Second))
		closedByServer(c, false)
		fmt.Println("expect /echo/badutf8 1007 *")
		ok("invalid UTF-8 received")
	}

	c, _ = dial(base+"/small", false, 1<<20)
	c.WriteMessage(websocket.BinaryMessage, bytes.Repeat([]byte("y"), 2000))
	if gc, _ := closedByServer(c, false); gc != 1009 {
		fail("oversize sent: close %d, not 1009", gc)
	}
	ok("oversize sent: 1009")
	c, _ = dial(base+"/echo/big", false, 1000)
	c.WriteMessage(websocket.TextMessage, []byte("!big 2000"))
	closedByServer(c, false) // gorilla's read limit sends 1009
	fmt.Println("expect /echo/big 1009 *")
	ok("oversize received")
}

func hold(base string, n int) {
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i], _ = dial(fmt.Sprintf("%s/echo/hold-%d", base, i), false, 1<<20)
		echo(conns[i], websocket.TextMessage, []byte(fmt.Sprintf("hold %d", i)), fmt.Sprintf("open %d", i))
	}
	fmt.Println("ready")
	for i, c := range conns {
		code, reason := closedByServer(c, false)
		if code != 1001 {
			fail("shutdown: connection %d closed %d %q", i, code, reason)
		}
		fmt.Printf("ok shutdown %d: %d %s, connection closed\n", i, code, reason)
	}
}

func main() {
	base, mode := os.Args[1], os.Args[2]
	time.AfterFunc(240*time.Second, func() { fail("took over 240 s") })
	if mode == "all" {
		scenarios(base)
	} else {
		n, _ := strconv.Atoi(os.Args[3])
		hold(base, n)
	}
}
