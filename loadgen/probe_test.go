package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
