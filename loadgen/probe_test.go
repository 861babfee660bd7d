package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestProbeVersions: each engine kind's version discovery (FACTS §4.5).
func TestProbeVersions(t *testing.T) {
	models := `{"object":"list","data":[{"id":"m","object":"model"}]}`
	tests := []struct {
		kind   string
		routes map[string]func(http.ResponseWriter)
		want   string
	}{
		{"vllm", map[string]func(http.ResponseWriter){
			"/v1/models": func(w http.ResponseWriter) { w.Write([]byte(`{"data":[{"id":"m","version":"0.21.0"}]}`)) },
		}, "0.21.0"},
		{"vllm", map[string]func(http.ResponseWriter){
			"/version": func(w http.ResponseWriter) { w.Write([]byte(`{"version":"0.22.1"}`)) },
		}, "0.22.1"},
		{"vllm", nil, "unknown"},
		{"sglang", map[string]func(http.ResponseWriter){
			"/get_server_info": func(w http.ResponseWriter) { w.Write([]byte(`{"version":"0.4.1"}`)) },
		}, "0.4.1"},
		{"sglang", nil, "unknown"},
		{"trtllm", map[string]func(http.ResponseWriter){
			"/health/load": func(w http.ResponseWriter) { w.Header().Set("Server", "trtllm-0.17.0"); w.Write([]byte(`{}`)) },
		}, "0.17.0"},
		{"llamacpp", map[string]func(http.ResponseWriter){
			"/props": func(w http.ResponseWriter) {
				w.Write([]byte(`{"system_info":"AVX = 1 | llama.cpp build 4242 | AVX2 = 1 | a long tail that is cut off at sixty characters","model_path":"/m.gguf"}`))
			},
		}, "AVX = 1 | llama.cpp build 4242 | AVX2 = 1 | a long tail that"},
		{"mlx", nil, "unknown"},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h, ok := tt.routes[r.URL.Path]; ok {
				h(w)
				return
			}
			if r.URL.Path == "/v1/models" {
				w.Write([]byte(models))
				return
			}
			http.NotFound(w, r)
		}))
		info, err := Probe(context.Background(), nil, srv.URL+"/v1/", tt.kind, "m", "")
		srv.Close()
		if err != nil {
			t.Errorf("%s: %v", tt.kind, err)
			continue
		}
		if info.Version != tt.want {
			t.Errorf("%s: version %q; want %q", tt.kind, info.Version, tt.want)
		}
	}
}

func TestProbeNonJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>hi</html>")) }))
	defer srv.Close()
	if _, err := Probe(context.Background(), nil, srv.URL, "vllm", "m", ""); err == nil {
		t.Fatal("non-JSON /v1/models accepted")
	}
}

// TestProbeIdentifiesTheEngine: the source's engine kind is a claim; the
// engine's own answers decide what is recorded.
func TestProbeIdentifiesTheEngine(t *testing.T) {
	tests := []struct {
		name          string
		requested     string
		routes        map[string]string
		wantKind      string
		wantVersion   string
		wantConfirmed bool
	}{
		{"vllm says so", "vllm", map[string]string{
			"/v1/models": `{"data":[{"id":"m","owned_by":"vllm"}]}`, "/version": `{"version":"0.22.1"}`,
		}, "vllm", "0.22.1", true},
		{"sglang behind a vllm envelope (owner)", "vllm", map[string]string{
			"/v1/models": `{"data":[{"id":"m","owned_by":"sglang"}]}`, "/get_server_info": `{"version":"0.4.6"}`, "/version": `{"version":"0.4.6"}`,
		}, "sglang", "0.4.6", true},
		{"sglang behind a vllm envelope (endpoint)", "vllm", map[string]string{
			"/v1/models": `{"data":[{"id":"m"}]}`, "/get_server_info": `{"version":"0.4.6"}`,
		}, "sglang", "0.4.6", true},
		{"llama.cpp by owner", "vllm", map[string]string{
			"/v1/models": `{"data":[{"id":"m","owned_by":"llamacpp"}]}`,
		}, "llamacpp", "unknown", true},
		{"mixed owners decide nothing", "vllm", map[string]string{
			"/v1/models": `{"data":[{"id":"m","owned_by":"vllm"},{"id":"n","owned_by":"sglang"}]}`, "/version": `{"version":"0.22.1"}`,
		}, "vllm", "0.22.1", true},
		{"silent engine", "sglang", map[string]string{
			"/v1/models": `{"data":[{"id":"m"}]}`,
		}, "sglang", "unknown", false},
		{"absurd version", "vllm", map[string]string{
			"/v1/models": `{"data":[{"id":"m"}]}`, "/version": `{"version":"1.0\u001b[8m` + strings.Repeat("x", 1000) + `"}`,
		}, "vllm", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if body, ok := tt.routes[r.URL.Path]; ok {
					w.Write([]byte(body))
					return
				}
				http.NotFound(w, r)
			}))
			defer srv.Close()
			info, err := Probe(context.Background(), nil, srv.URL, tt.requested, "m", "")
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantVersion == "" { // the absurd one: bounded and escaped
				if !strings.HasPrefix(info.Version, `1.0\x1b[8mxxx`) || len(info.Version) > 128+3 {
					t.Errorf("version %q (%d bytes); want it escaped and cut to about 128 bytes", info.Version, len(info.Version))
				}
				info.Version = ""
			}
			got := [4]any{info.Kind, info.Version, info.Confirmed, info.Requested}
			want := [4]any{tt.wantKind, tt.wantVersion, tt.wantConfirmed, tt.requested}
			if got != want {
				t.Errorf("kind, version, confirmed, requested = %q; want %q", got, want)
			}
		})
	}
}

// TestEngineKinds: the built-in kinds, in the order Probe tries them, as
// fresh copies; and what makes a set of kinds invalid.
func TestEngineKinds(t *testing.T) {
	kinds, err := EngineKinds()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range kinds {
		names = append(names, k.Name)
	}
	if want := []string{"vllm", "sglang", "trtllm", "llamacpp", "mlx"}; !slices.Equal(names, want) {
		t.Errorf("built-in kinds %q; want %q", names, want)
	}
	kinds[0].Owners[0] = "changed"
	if again, _ := EngineKinds(); again[0].Owners[0] != "vllm" {
		t.Error("changing a returned kind changed the built-in one")
	}

	mine := EngineKind{Name: "mine", Owners: []string{"Mine-Server"}}
	kinds, err = EngineKinds(mine)
	if err != nil || len(kinds) != 6 || kinds[5].Name != "mine" {
		t.Errorf("EngineKinds(mine) = %v, %v; want the built-in kinds, then mine", kinds, err)
	}

	for name, extra := range map[string][]EngineKind{
		"empty name":          {{}},
		"padded name":         {{Name: " mine"}},
		"a built-in name":     {{Name: "vllm"}},
		"twice":               {mine, mine},
		"a built-in owner":    {{Name: "fork", Owners: []string{"VLLM"}}},
		"an owner of another": {mine, {Name: "other", Owners: []string{"mine-server"}}},
		"an empty owner":      {{Name: "x", Owners: []string{""}}},
	} {
		if _, err := EngineKinds(extra...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: EngineKinds error %v; want ErrInvalidOption", name, err)
		}
		if _, err := LookupEngineKind("vllm", extra...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: LookupEngineKind error %v; want ErrInvalidOption", name, err)
		}
		if _, err := Probe(context.Background(), nil, "http://127.0.0.1:1", "vllm", "m", "", WithEngineKinds(extra...)); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: Probe error %v; want ErrInvalidOption", name, err)
		}
	}
}

func TestLookupEngineKind(t *testing.T) {
	if k, err := LookupEngineKind("trtllm"); err != nil || k.Name != EngineTensorRTLLM || !slices.Contains(k.Owners, "tensorrt_llm") {
		t.Errorf("LookupEngineKind(trtllm) = %+v, %v", k, err)
	}
	mine := EngineKind{Name: "mine"}
	if k, err := LookupEngineKind("mine", mine); err != nil || k.Name != "mine" {
		t.Errorf("LookupEngineKind(mine, mine) = %+v, %v", k, err)
	}
	for _, name := range []string{"tgi", "VLLM", " vllm", ""} {
		_, err := LookupEngineKind(name, mine)
		if !errors.Is(err, ErrUnknownEngine) {
			t.Errorf("LookupEngineKind(%q): %v; want ErrUnknownEngine", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("%q", name)) || !strings.Contains(msg, "vllm, sglang, trtllm, llamacpp, mlx, mine") {
			t.Errorf("LookupEngineKind(%q): %q; want the name and the known kinds", name, msg)
		}
	}
}

// TestProbeEmbedderKind: a kind described by an embedder is accepted as
// the requested kind, identified by its owner or its version endpoint, and
// tried after the built-in kinds.
func TestProbeEmbedderKind(t *testing.T) {
	var calls int
	tgi := EngineKind{
		Name:   "tgi",
		Owners: []string{"text-generation-inference"},
		Version: func(ctx context.Context, p *Prober) (string, bool) {
			calls++
			body, _, err := p.Get(ctx, "/info", 0)
			if err != nil {
				return "", false
			}
			var info struct{ Version string }
			if json.Unmarshal(body, &info) != nil {
				return "", false
			}
			return info.Version, true
		},
	}
	tests := []struct {
		name          string
		requested     string
		routes        map[string]string
		wantKind      string
		wantVersion   string
		wantConfirmed bool
	}{
		{"by owner", "tgi", map[string]string{
			"/v1/models": `{"data":[{"id":"m","owned_by":"Text-Generation-Inference"}]}`, "/info": `{"version":"3.0.1"}`,
		}, "tgi", "3.0.1", true},
		{"by its version endpoint", "tgi", map[string]string{
			"/v1/models": `{"data":[{"id":"m"}]}`, "/info": `{"version":"3.0.1"}`,
		}, "tgi", "3.0.1", true},
		{"behind a vllm envelope, by owner", "vllm", map[string]string{
			"/v1/models": `{"data":[{"id":"m","owned_by":"text-generation-inference"}]}`, "/version": `{"version":"0.22.1"}`,
		}, "tgi", "unknown", true},
		{"behind a vllm envelope, after the built-in kinds", "vllm", map[string]string{
			"/v1/models": `{"data":[{"id":"m"}]}`, "/info": `{"version":"3.0.1"}`,
		}, "tgi", "3.0.1", true},
		{"the requested kind is tried first", "tgi", map[string]string{
			"/v1/models": `{"data":[{"id":"m"}]}`, "/info": `{"version":"3.0.1"}`, "/version": `{"version":"0.22.1"}`,
		}, "tgi", "3.0.1", true},
		{"a built-in kind still wins when it answers first", "vllm", map[string]string{
			"/v1/models": `{"data":[{"id":"m"}]}`, "/info": `{"version":"3.0.1"}`, "/version": `{"version":"0.22.1"}`,
		}, "vllm", "0.22.1", true},
		{"silent engine", "tgi", map[string]string{
			"/v1/models": `{"data":[{"id":"m"}]}`,
		}, "tgi", "unknown", false},
		{"absurd version", "tgi", map[string]string{
			"/v1/models": `{"data":[{"id":"m"}]}`, "/info": `{"version":"3\u001b[8m` + strings.Repeat("y", 1000) + `"}`,
		}, "tgi", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if body, ok := tt.routes[r.URL.Path]; ok {
					w.Write([]byte(body))
					return
				}
				http.NotFound(w, r)
			}))
			defer srv.Close()
			info, err := Probe(context.Background(), nil, srv.URL, tt.requested, "m", "", WithEngineKinds(tgi))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantVersion == "" {
				if !strings.HasPrefix(info.Version, `3\x1b[8myyy`) || len(info.Version) > 128+3 {
					t.Errorf("version %q (%d bytes); want it escaped and cut to about 128 bytes", info.Version, len(info.Version))
				}
				info.Version = ""
			}
			got := [4]any{info.Kind, info.Version, info.Confirmed, info.Requested}
			want := [4]any{tt.wantKind, tt.wantVersion, tt.wantConfirmed, tt.requested}
			if got != want {
				t.Errorf("kind, version, confirmed, requested = %q; want %q", got, want)
			}
		})
	}
	if calls == 0 {
		t.Error("the embedder's Version was never called")
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"data":[{"id":"m"}]}`)) }))
	defer srv.Close()
	if _, err := Probe(context.Background(), nil, srv.URL, "tgi", "m", ""); !errors.Is(err, ErrUnknownEngine) {
		t.Errorf("tgi without WithEngineKinds: %v; want ErrUnknownEngine", err)
	}
}

// TestProberGives: what a Version function sees.
func TestProberGives(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			w.Header().Set("Server", "mine/1.2")
			w.Write([]byte(`{"data":[{"id":"a","owned_by":"x","version":"9"},{"id":"b"}]}`))
		case "/auth":
			w.Write([]byte(r.Header.Get("Authorization") + " " + r.Header.Get("User-Agent")))
		default:
			w.Header().Set("X-Why", "absent")
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var models []ModelEntry
	var server, auth, why string
	var missing error
	kind := EngineKind{Name: "mine", Version: func(ctx context.Context, p *Prober) (string, bool) {
		models, server = p.Models(), p.ModelsHeader().Get("Server")
		body, _, _ := p.Get(ctx, "/auth", time.Second)
		auth = string(body)
		var h http.Header
		_, h, missing = p.Get(ctx, "/nope", 0)
		why = h.Get("X-Why")
		return "", false
	}}
	if _, err := Probe(context.Background(), nil, srv.URL+"/v1", "mine", "a", "k", WithEngineKinds(kind)); err != nil {
		t.Fatal(err)
	}
	if want := []ModelEntry{{ID: "a", OwnedBy: "x", Version: "9"}, {ID: "b"}}; !slices.Equal(models, want) {
		t.Errorf("Models() = %+v; want %+v", models, want)
	}
	if server != "mine/1.2" || auth != "Bearer k benchprof-probe" {
		t.Errorf("models Server header %q, /auth saw %q", server, auth)
	}
	if missing == nil || !strings.Contains(missing.Error(), "HTTP 404") || why != "absent" {
		t.Errorf("GET of a missing path: %v, header X-Why %q; want an HTTP 404 error with the header", missing, why)
	}
}
