// goclient: Go's net/http client in a closed loop, for bench/client/run.sh.
//
//	goclient -url URL [-conns N] [-duration S] [-warmup S]
//
// N goroutines (default 1; run with GOMAXPROCS=1 for one thread of Go
// code) repeat GET URL, read the body to its end and close it. After the
// warm-up, requests and the process's CPU time (getrusage, every thread)
// are counted for the duration, then printed as the same key=value line
// bench_client and curl_client print.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func main() {
	url := flag.String("url", "", "URL to GET")
	conns := flag.Int("conns", 1, "concurrent callers (goroutines)")
	duration := flag.Float64("duration", 5, "seconds measured")
	warmup := flag.Float64("warmup", 1, "seconds before measuring")
	flag.Parse()
	if *url == "" || *conns < 1 || *duration <= 0 || *warmup < 0 {
		flag.Usage()
		os.Exit(2)
	}

	// Every caller may keep its connection idle between requests (Go's
	// default is 2 per host, which would redial under 64 callers).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = *conns
	if *conns > tr.MaxIdleConns {
		tr.MaxIdleConns = *conns
	}
	client := &http.Client{Transport: tr}

	var stop atomic.Bool
	var requests, errors atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := client.Get(*url)
				if err != nil {
					errors.Add(1)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode == 200 {
					requests.Add(1)
				} else {
					errors.Add(1)
				}
			}
		}()
	}

	sleep := func(s float64) { time.Sleep(time.Duration(s * float64(time.Second))) }
	sleep(*warmup)
	r0, e0 := requests.Load(), errors.Load()
	t0, c0 := time.Now(), cpuSeconds()
	sleep(*duration)
	r1, e1 := requests.Load(), errors.Load()
	secs, cpu := time.Since(t0).Seconds(), cpuSeconds()-c0
	stop.Store(true)
	wg.Wait()

	n := r1 - r0
	perReq := 0.0
	if n > 0 {
		perReq = cpu * 1e6 / float64(n)
	}
	fmt.Printf("client=go conns=%d requests=%d errors=%d seconds=%.3f cpu_seconds=%.3f rps=%.0f cpu_us_per_req=%.2f\n",
		*conns, n, e1-e0, secs, cpu, float64(n)/secs, perReq)
	if n == 0 || e1 != e0 {
		os.Exit(1)
	}
}
