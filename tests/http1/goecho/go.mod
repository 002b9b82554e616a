module nethttp.test/goecho

go 1.19
