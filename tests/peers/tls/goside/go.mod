module nethttp.test/goside

go 1.19
