module nethttp.bench/goclient

go 1.19
