module nethttp.test/h2goclient

go 1.19
