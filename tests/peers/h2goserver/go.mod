module nethttp.test/h2goserver

go 1.19
