module nethttp.test/goclient

go 1.19
