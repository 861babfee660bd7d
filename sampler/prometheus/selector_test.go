package prometheus

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSelector(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // rendered; "" for the empty selector
	}{
		{``, ``},
		{`{}`, ``},
		{` { } `, ``},
		{`namespace="llm"`, `namespace="llm"`},
		{`{namespace="llm", pod=~"vllm-.*"}`, `namespace="llm",pod=~"vllm-.*"`},
		{`namespace = "llm" ,pod !~ 'other-.*', `, `namespace="llm",pod!~"other-.*"`},
		{"job!=`a\\b`", `job!="a\\b"`},
		{`x="a\"}b"`, `x="a\"}b"`},
		{`x='it\'s "q"'`, `x="it's \"q\""`},
		{`x="tab\there"`, `x="tab\there"`},
	} {
		sel, err := parseSelector(tt.in)
		if err != nil {
			t.Errorf("parseSelector(%q): %v", tt.in, err)
			continue
		}
		if got := sel.String(); got != tt.want {
			t.Errorf("parseSelector(%q).String() = %s; want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseSelectorErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{namespace="llm"`, "unbalanced braces"},
		{`namespace`, "no operator"},
		{`name space="x"`, "want one of"},
		{`1abc="x"`, "not a label name"},
		{`__name__="up"`, "__name__"},
		{`pod=vllm`, "want a quoted value"},
		{`pod="vllm`, "unterminated"},
		{`pod=~"(vllm"`, "missing closing )"},
		{`pod="a" job="b"`, "separated by commas"},
		{`pod=`, "no value"},
	} {
		_, err := parseSelector(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseSelector(%q) = %v; want an error containing %q", tt.in, err, tt.want)
		}
	}
}

// TestSelectorVector checks that a value never escapes its quotes into the
// query, whatever it holds.
func TestSelectorVector(t *testing.T) {
	sel, err := parseSelector(`pod="x\"} or vector(1) #"`)
	if err != nil {
		t.Fatal(err)
	}
	got := sel.vector([]string{"A_B", "C"})
	want := `{__name__=~"A_B|C",pod="x\"} or vector(1) #"}`
	if got != want {
		t.Errorf("vector = %s; want %s", got, want)
	}
	if got := (selector{}).vector([]string{"A"}); got != `{__name__=~"A"}` {
		t.Errorf("empty selector's vector = %s", got)
	}
}

func TestSelectorExported(t *testing.T) {
	sel, _ := parseSelector(`namespace="llm", pod=~"vllm-.*", job="dcgm", container="engine"`)
	exp, renamed := sel.exported()
	if diff := cmp.Diff([]string{"exported_namespace", "exported_pod", "exported_container"}, renamed); diff != "" {
		t.Errorf("renamed (-want +got):\n%s", diff)
	}
	if got, want := exp.String(), `exported_namespace="llm",exported_pod=~"vllm-.*",job="dcgm",exported_container="engine"`; got != want {
		t.Errorf("exported = %s; want %s", got, want)
	}
	if sel.String() != `namespace="llm",pod=~"vllm-.*",job="dcgm",container="engine"` {
		t.Errorf("exported changed its receiver: %s", sel)
	}
	if _, renamed := (selector{{"job", "=", "x"}}).exported(); renamed != nil {
		t.Errorf("a selector without renamed labels renamed %v", renamed)
	}
}
