package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/benchprof/benchprof"

type pkg struct {
	ImportPath string
	Imports    []string
	CgoFiles   []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel returns the package path inside the module ("" for the root).
func rel(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
}

func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// forbidden lists, for each top-level package, the module packages it and
// the packages under it must not import (except as allowed says).
//
// loadgen is the generic engine (client, drivers, probe, metrics) that
// harnesses import alone: it reads no envelope, and it does not import the
// catalogue built on it.
var forbidden = map[string][]string{
	"envelope": {"loadgen", "sampler", "energy", "report", "profile", "internal", "examples"},
	"loadgen":  {"envelope", "loadgen/catalog", "sampler", "energy", "report", "profile", "examples"},
	"sampler":  {"loadgen", "energy", "report", "profile", "examples"},
	"energy":   {"loadgen", "report", "profile", "examples"},
	"report":   {"profile", "examples"},
	"profile":  {"examples"},
	"internal": {"loadgen", "sampler", "energy", "report", "profile", "examples"},
}

// allowed lists, for a package tree under a top-level package, what it may
// import although forbidden says its top-level package may not.
//
// loadgen/catalog is the reference's benchmark catalogue (suites, datasets
// and their hashes, SLO templates, sweep points read from a source
// envelope): it reads and hashes envelopes, so it may import envelope.
var allowed = map[string][]string{
	"loadgen/catalog": {"envelope"},
}

// only lists packages (each exactly, not the packages under it) that may
// import no module package but those under the listed ones, whatever
// forbidden and allowed say.
//
// report draws its tables from envelopes alone, so that it can render any
// pair of envelopes; the HTML timeline, drawn from readings and results
// (loadgen, sampler, energy), is report/timeline, which report does not
// import.
//
// report/sweep, a sweep's summary, draws from the points' envelopes too,
// and renders its table with report's.
var only = map[string][]string{
	"report":       {"envelope", "internal"},
	"report/sweep": {"envelope", "internal", "report"},
}

// mayImport reports whether the package from may import to under forbidden,
// allowed and only.
func mayImport(from, to string) (ok bool, rule string) {
	if oks, ok := only[from]; ok && !slices.ContainsFunc(oks, func(a string) bool { return under(to, a) }) {
		return false, fmt.Sprintf("%s may import only %s", from, strings.Join(oks, ", "))
	}
	top, _, _ := strings.Cut(from, "/")
	for _, bad := range forbidden[top] {
		if !under(to, bad) || under(from, bad) {
			continue
		}
		for tree, oks := range allowed {
			if under(from, tree) && slices.ContainsFunc(oks, func(a string) bool { return under(to, a) }) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%s must not import %s", top, bad)
	}
	return true, ""
}

func TestImportDirections(t *testing.T) {
	for _, p := range listPackages(t) {
		from := rel(p.ImportPath)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := rel(imp)
			if ok, rule := mayImport(from, to); !ok {
				t.Errorf("%s imports %s: against the one-way streets (%s)", from, to, rule)
			}
			if under(to, "examples") {
				t.Errorf("%s imports %s: nothing imports examples/", from, to)
			}
		}
	}
}

// TestMayImport pins the rules above on the cases they were written for.
func TestMayImport(t *testing.T) {
	for _, tt := range []struct {
		from, to string
		want     bool
	}{
		{"loadgen", "envelope", false},
		{"loadgen/enginetest", "envelope", false},
		{"loadgen", "loadgen/catalog", false},
		{"loadgen/enginetest", "loadgen/catalog", false},
		{"loadgen/catalog", "envelope", true},
		{"loadgen/catalog", "loadgen", true},
		{"loadgen/catalog", "sampler", false},
		{"loadgen/catalog", "profile", false},
		{"profile", "loadgen/catalog", true},
		{"envelope", "loadgen/catalog", false},
		{"report", "envelope", true},
		{"report", "internal/textsafe", true},
		{"report", "loadgen", false},
		{"report", "sampler", false},
		{"report", "energy", false},
		{"report", "report/timeline", false},
		{"report/timeline", "loadgen", true},
		{"report/timeline", "sampler", true},
		{"report/timeline", "energy", true},
		{"report/timeline", "profile", false},
		{"report/sweep", "report", true},
		{"report/sweep", "envelope", true},
		{"report/sweep", "loadgen", false},
		{"report/sweep", "profile", false},
		{"report", "report/sweep", false},
	} {
		if got, _ := mayImport(tt.from, tt.to); got != tt.want {
			t.Errorf("mayImport(%s, %s) = %v; want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

// engine lists the packages of the generic load engine, which a harness
// imports alone: none of them may depend on envelope, directly or not.
var engine = []string{"loadgen", "loadgen/enginetest"}

// TestEngineDependsOnNoEnvelope: importing the load generator compiles no
// envelope code (the catalogue, loadgen/catalog, is where envelopes are
// read).
func TestEngineDependsOnNoEnvelope(t *testing.T) {
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}"}
	for _, e := range engine {
		args = append(args, module+"/"+e)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	for line := range strings.Lines(string(out)) {
		if d := strings.TrimSpace(line); strings.HasPrefix(d, module+"/") && under(rel(d), "envelope") {
			t.Errorf("%v depend on %s; the engine must not read envelopes (that is loadgen/catalog's job)", engine, d)
		}
	}
}

func TestCgoOnlyInTheNVMLLeaf(t *testing.T) {
	var cgo []string
	for _, p := range listPackages(t) {
		if len(p.CgoFiles) > 0 {
			cgo = append(cgo, rel(p.ImportPath))
		}
	}
	if len(cgo) > 1 || (len(cgo) == 1 && !under(cgo[0], "sampler")) {
		t.Errorf("packages using cgo: %v; only one leaf under sampler/ may", cgo)
	}
}

// TestFirstBuildPrintsNoWarning keeps the first impression clean: on a
// fresh machine, the README's first command compiles the module's cgo
// (sampler/nvml) with the C compiler's default flags, and must print
// nothing. (A binding that compiled NVML's header printed some 150 lines of
// deprecation warnings there; a package cannot set CGO_CFLAGS for its
// users.) It builds from an empty cache, the standard library included,
// in some 15 s.
func TestFirstBuildPrintsNoWarning(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sampler/nvml and the standard library from an empty cache")
	}
	// go test caches a result by the files the test itself opens, not by
	// those its child processes read: reading the package's sources here
	// makes an edit of them run the test again.
	srcs, err := filepath.Glob("../../sampler/nvml/*.go")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("sampler/nvml sources: %v, %v", srcs, err)
	}
	for _, f := range srcs {
		if _, err := os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	cc, err := exec.Command("go", "env", "CC").Output()
	if err != nil {
		t.Fatalf("go env CC: %v", err)
	}
	if _, err := exec.LookPath(strings.TrimSpace(string(cc))); err != nil {
		t.Skipf("no C compiler (%s): cgo cannot build here", strings.TrimSpace(string(cc)))
	}
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_ENABLED", "GOCACHE":
		default:
			env = append(env, kv)
		}
	}
	cmd := exec.Command("go", "build", "./sampler/nvml")
	cmd.Dir = "../.."
	cmd.Env = append(env, "CGO_ENABLED=1", "GOCACHE="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./sampler/nvml: %v\n%s", err, out)
	}
	if len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("go build ./sampler/nvml from an empty cache, without CGO_CFLAGS, printed %d line(s), %d warning(s); want nothing:\n%s",
			bytes.Count(out, []byte("\n")), bytes.Count(out, []byte("warning:")), out)
	}
}

// heavy lists the import path prefixes of the Sigstore stack: sigstore-go,
// sigstore, rekor and the protobuf specs (github.com/sigstore/), TUF, and
// gRPC. Together they are some 400 packages.
var heavy = []string{
	"github.com/sigstore/",
	"github.com/theupdateframework/",
	"google.golang.org/grpc",
}

// keylessLeaf is the one package tree that may import the Sigstore stack.
const keylessLeaf = "envelope/keyless"

func isHeavy(path string) bool {
	for _, h := range heavy {
		if strings.HasPrefix(path, h) || path == strings.TrimSuffix(h, "/") {
			return true
		}
	}
	return false
}

// TestSigstoreOnlyInTheKeylessLeaf: only envelope/keyless imports the
// Sigstore stack directly (tests may use it as an independent oracle: they
// are not compiled into users' programs).
func TestSigstoreOnlyInTheKeylessLeaf(t *testing.T) {
	for _, p := range listPackages(t) {
		from := rel(p.ImportPath)
		if under(from, keylessLeaf) {
			continue
		}
		for _, imp := range p.Imports {
			if isHeavy(imp) {
				t.Errorf("%s imports %s: the Sigstore stack (sigstore, rekor, TUF, gRPC) belongs in %s only", from, imp, keylessLeaf)
			}
		}
	}
}

// light lists the package patterns that a harness imports without signing
// keyless: their dependencies, direct or not, must not include the Sigstore
// stack. profile and examples/ compose everything and may.
var light = []string{"loadgen/...", "sampler/...", "energy/...", "report/...", "envelope", "envelope/internal/..."}

// TestLightPackagesCompileNoSigstore: importing the load generator, the
// samplers, energy, report or the envelope core does not compile a gRPC
// stack.
func TestLightPackagesCompileNoSigstore(t *testing.T) {
	args := []string{"list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`}
	for _, l := range light {
		args = append(args, module+"/"+l)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	n := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		n++
		var bad []string
		for _, d := range fields[1:] {
			if isHeavy(d) {
				bad = append(bad, d)
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s depends on %d packages of the Sigstore stack (first: %s); it must stay light: keep Sigstore in %s and do not import it (or profile) from here",
				rel(fields[0]), len(bad), bad[0], keylessLeaf)
		}
	}
	if n < len(light) {
		t.Fatalf("go list listed %d packages for %d patterns", n, len(light))
	}
}

func TestBuildsWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole module")
	}
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./... failed: %v\n%s", err, out)
	}
}
