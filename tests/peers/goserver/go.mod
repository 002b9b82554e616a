module nethttp.test/goserver

go 1.19
