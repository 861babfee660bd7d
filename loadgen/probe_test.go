package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
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
