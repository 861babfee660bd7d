// Package procfs finds the processes of a server on this host through
// Linux's /proc, read under an injected root: the sockets listening on a
// TCP port (/proc/net/tcp and tcp6), the processes holding them (the
// socket:[inode] links under /proc/<pid>/fd), and their descendants (by
// the parent PIDs of /proc/<pid>/stat).
//
// What /proc shows depends on the reader: /proc/net lists the sockets of
// the reader's network namespace, /proc/<pid> the processes of its PID
// namespace, and /proc/<pid>/fd of another user's process is not readable
// without privilege. Each step says which of these stopped it, so a caller
// can tell "not here" from "not visible from here".
package procfs

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MaxProcesses bounds the process directories read in one scan, so that
// a pathological /proc cannot make a scan unbounded.
const MaxProcesses = 1 << 20

// tcpListen is the state column of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// ListenInodes returns the inodes of the TCP sockets (IPv4 and IPv6)
// listening on port, as root/proc/net/tcp and tcp6 list them: the sockets
// of the reader's network namespace. A missing tcp6 (no IPv6) is not an
// error; an unreadable tcp is.
func ListenInodes(root string, port int) ([]uint64, error) {
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("procfs: port %d out of range", port)
	}
	var out []uint64
	for i, name := range []string{"tcp", "tcp6"} {
		inodes, err := listenInodes(filepath.Join(root, "proc", "net", name), port)
		if err != nil {
			if i == 1 && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		out = append(out, inodes...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func listenInodes(path string, port int) ([]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("procfs: %w", err)
	}
	defer f.Close()
	var out []uint64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	first := true
	for sc.Scan() {
		if first { // the header
			first = false
			continue
		}
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != tcpListen {
			continue
		}
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		inode, err := strconv.ParseUint(fields[9], 10, 64)
		if err != nil || inode == 0 {
			continue
		}
		out = append(out, inode)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("procfs: %s: %w", path, err)
	}
	return out, nil
}

// Owners is what SocketOwners found.
type Owners struct {
	// PIDs are the processes holding one of the sockets, in order.
	PIDs []int
	// Unreadable counts the processes whose descriptors could not be
	// read (another user's, without privilege): an owner may hide among
	// them.
	Unreadable int
}

// SocketOwners returns the processes under root/proc that hold a file
// descriptor on one of the sockets (socket:[inode]).
func SocketOwners(root string, inodes []uint64) (Owners, error) {
	var o Owners
	if len(inodes) == 0 {
		return o, nil
	}
	want := make(map[string]bool, len(inodes))
	for _, in := range inodes {
		want["socket:["+strconv.FormatUint(in, 10)+"]"] = true
	}
	pids, err := processes(root)
	if err != nil {
		return o, err
	}
	for _, pid := range pids {
		dir := filepath.Join(root, "proc", strconv.Itoa(pid), "fd")
		ents, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				o.Unreadable++
			}
			continue // gone, or not readable
		}
		for _, e := range ents {
			link, err := os.Readlink(filepath.Join(dir, e.Name()))
			if err == nil && want[link] {
				o.PIDs = append(o.PIDs, pid)
				break
			}
		}
	}
	return o, nil
}

// Tree returns pids and every descendant of theirs under root/proc (by
// the parent PID in /proc/<pid>/stat), sorted, each once.
func Tree(root string, pids []int) ([]int, error) {
	all, err := processes(root)
	if err != nil {
		return nil, err
	}
	children := make(map[int][]int)
	for _, pid := range all {
		if ppid, ok := parentOf(root, pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	seen := make(map[int]bool)
	queue := slices.Clone(pids)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		queue = append(queue, children[p]...)
	}
	out := make([]int, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

// maxDepth bounds a walk up the process tree.
const maxDepth = 256

// Ancestors returns the ancestors of pid under root/proc, nearest first,
// up to but not including PID 1 and any process in stop (and none of
// stop's ancestors, since the walk ends there). A process whose parent
// cannot be read ends the walk.
func Ancestors(root string, pid int, stop map[int]bool) []int {
	var out []int
	for range maxDepth {
		ppid, ok := parentOf(root, pid)
		if !ok || ppid <= 1 || stop[ppid] {
			break
		}
		out = append(out, ppid)
		pid = ppid
	}
	return out
}

// Self returns the reader's own PID as root/proc/self shows it.
func Self(root string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(root, "proc", "self", "stat"))
	if err != nil {
		return 0, false
	}
	f, _, _ := strings.Cut(string(b), " ")
	pid, err := strconv.Atoi(f)
	return pid, err == nil && pid > 0
}

// parentOf reads the parent PID from /proc/<pid>/stat: the fourth field,
// counted after the command name, which is in parentheses and may hold
// spaces and parentheses itself.
func parentOf(root string, pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join(root, "proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:]) // state ppid …
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// processes lists the numeric directories of root/proc.
func processes(root string) ([]int, error) {
	ents, err := os.ReadDir(filepath.Join(root, "proc"))
	if err != nil {
		return nil, fmt.Errorf("procfs: %w", err)
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		out = append(out, pid)
		if len(out) >= MaxProcesses {
			break
		}
	}
	slices.Sort(out)
	return out, nil
}

// NestedPIDNamespace reports whether the reader runs in a PID namespace
// below the host's: the NSpid line of root/proc/self/status lists more
// than one PID. PIDs that NVML and other host-wide tools report are then
// not the ones this /proc shows. ok is false when the line is missing
// (kernels before 4.1) or the file is unreadable.
func NestedPIDNamespace(root string) (nested, ok bool) {
	b, err := os.ReadFile(filepath.Join(root, "proc", "self", "status"))
	if err != nil {
		return false, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, found := strings.CutPrefix(line, "NSpid:"); found {
			return len(strings.Fields(rest)) > 1, true
		}
	}
	return false, false
}
