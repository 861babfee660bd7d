package loadgen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/benchprof/benchprof/loadgen"
)

// An embedder describes an engine kind that is not built in — here one
// whose GET /info answers {"version": ...}, as Hugging Face TGI's does —
// and Probe accepts it as the requested kind and can identify an engine as
// one, without a fork.
func ExampleWithEngineKinds() {
	tgi := loadgen.EngineKind{
		Name: "tgi",
		Version: func(ctx context.Context, p *loadgen.Prober) (string, bool) {
			body, _, err := p.Get(ctx, "/info", 0)
			if err != nil {
				return "", false
			}
			var info struct {
				Version string `json:"version"`
			}
			if json.Unmarshal(body, &info) != nil {
				return "", false
			}
			return info.Version, true
		},
	}

	// A stand-in for the engine.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			fmt.Fprint(w, `{"object":"list","data":[{"id":"m","object":"model"}]}`)
		case "/info":
			fmt.Fprint(w, `{"model_id":"m","version":"3.0.1"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	info, err := loadgen.Probe(context.Background(), nil, srv.URL+"/v1", "tgi", "m", "", loadgen.WithEngineKinds(tgi))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Kind, info.Version, info.Confirmed)

	// Without the description, the name is unknown.
	_, err = loadgen.Probe(context.Background(), nil, srv.URL+"/v1", "tgi", "m", "")
	fmt.Println(err)
	// Output:
	// tgi 3.0.1 true
	// unknown engine "tgi": expected one of vllm, sglang, trtllm, llamacpp, mlx
}
