module github.com/benchprof/benchprof

go 1.26.0
