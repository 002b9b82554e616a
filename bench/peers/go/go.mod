module nethttp/bench/peers/go

go 1.19
