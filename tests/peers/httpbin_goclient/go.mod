module nethttp.test/httpbin_goclient

go 1.19
