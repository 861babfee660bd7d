// Package fdlimit checks, before any load is sent, that the process may
// open enough file descriptors for the planned concurrency.
//
// Every request in flight holds a connection, and each connection is a file
// descriptor. A run at concurrency 1024 under `ulimit -n 256` otherwise
// fails hundreds of thousands of requests with "too many open files" and
// measures the limit, not the engine. The Go runtime already raises the
// soft limit to the hard limit at start-up; what is left is to compare.
package fdlimit
