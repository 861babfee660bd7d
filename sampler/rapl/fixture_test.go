package rapl

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fixture sysfs trees are stored as txtar-style archives, as
// node_exporter stores its fixtures in a ttar archive: zone directories are
// named intel-rapl:N, and ':' is not allowed in file names in a Go module
// zip (nor on Windows). An archive is a comment, then files, each
// introduced by a line "-- path --" and followed by its content; a line
// "-- path -> target --" makes a symbolic link.

// loadTree extracts testdata/<name>.txtar into a new temporary directory
// and returns it, to be passed to WithRoot.
func loadTree(tb testing.TB, name string) string {
	tb.Helper()
	return extractTree(tb, name, tb.TempDir())
}

// extractTree extracts testdata/<name>.txtar into the directory root and
// returns root.
func extractTree(tb testing.TB, name, root string) string {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".txtar"))
	if err != nil {
		tb.Fatal(err)
	}
	var (
		path    string
		content bytes.Buffer
	)
	flush := func() {
		if path == "" {
			return
		}
		writeFile(tb, filepath.Join(root, path), content.String())
		content.Reset()
		path = ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --") && len(line) > 6 {
			flush()
			header := strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --")
			if from, to, ok := strings.Cut(header, " -> "); ok {
				link := filepath.Join(root, filepath.FromSlash(from))
				if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
					tb.Fatal(err)
				}
				if err := os.Symlink(filepath.FromSlash(to), link); err != nil {
					tb.Fatal(err)
				}
				continue
			}
			path = filepath.FromSlash(header)
			continue
		}
		if path != "" {
			content.WriteString(line)
			content.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	flush()
	return root
}

// memTempDir returns a new temporary directory in memory (under /dev/shm,
// a tmpfs on Linux) where there is one, and tb.TempDir() otherwise.
// Replacing a file by rename is then a matter of microseconds; on a
// disk-backed file system such as ext4, whose rename over an existing file
// starts writing the new file's data out, it can take milliseconds.
func memTempDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "rapl-test-")
	if err != nil {
		return tb.TempDir()
	}
	tb.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			tb.Error(err)
		}
	})
	return dir
}

// writeFile replaces the file at path atomically (a new file renamed over
// it), so that a concurrent reader sees the old or the new content, never
// a half-written one, as with a real sysfs attribute.
func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := replaceFile(path, content); err != nil {
		tb.Fatal(err)
	}
}

// replaceFile is writeFile for goroutines other than the test's.
func replaceFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// zonePath returns the path of a file of a zone directory ("intel-rapl:0")
// in the tree at root.
func zonePath(root, zone, file string) string {
	return filepath.Join(root, "class", "powercap", zone, file)
}

// setCounter writes v to a zone's energy_uj.
func setCounter(tb testing.TB, root, zone string, v uint64) {
	tb.Helper()
	writeFile(tb, zonePath(root, zone, "energy_uj"), strconv.FormatUint(v, 10)+"\n")
}
