package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/benchprof/benchprof/internal/textsafe"
)

// Engine kinds the reference can profile (FACTS §4.1).
var engineKinds = []string{"vllm", "sglang", "trtllm", "llamacpp", "mlx"}

// EngineKinds returns the engine names an envelope may carry.
func EngineKinds() []string { return slices.Clone(engineKinds) }

// Probe timeouts, as the reference's (FACTS §4.5).
const (
	ProbeTimeout        = 5 * time.Second
	VersionProbeTimeout = 3 * time.Second
)

// ErrUnknownEngine is wrapped by Probe's error for an engine name that is
// not one of EngineKinds.
var ErrUnknownEngine = errors.New("unknown engine")

// ErrModelNotServed is wrapped by Probe's error when the engine does not
// list the model in /v1/models.
var ErrModelNotServed = errors.New("model not served by the engine")

// ErrEngineUnreachable is wrapped by Probe's error when the engine does not
// answer /v1/models.
var ErrEngineUnreachable = errors.New("engine not reachable")

// EngineInfo is what a probe found.
type EngineInfo struct {
	Kind    string
	Version string // "unknown" when the engine does not say
	Models  []string
}

// Probe discovers the version of the engine of the given kind at baseURL
// as the reference does (vLLM: /v1/models data[0].version, then /version;
// SGLang: /get_server_info; TensorRT-LLM: the Server header of /health/load;
// llama.cpp: /props system_info; MLX: none) and checks that it serves model,
// failing with the served models listed when it does not. hc may be nil
// (a fresh transport without a proxy is then used); a copy of it made with
// [SameOriginOnly] is used, so a cross-origin redirect fails the probe
// (wrapping [ErrCrossOriginRedirect]) instead of taking apiKey elsewhere.
// apiKey, if set, is sent as a bearer token.
func Probe(ctx context.Context, hc *http.Client, baseURL, kind, model, apiKey string) (*EngineInfo, error) {
	if !slices.Contains(engineKinds, kind) {
		return nil, fmt.Errorf("%w %q: expected one of %s", ErrUnknownEngine, kind, strings.Join(engineKinds, ", "))
	}
	base, err := NormalizeBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	p := prober{hc: SameOriginOnly(hc), base: base, apiKey: apiKey}
	info := &EngineInfo{Kind: kind, Version: "unknown"}

	models, hdr, err := p.models(ctx)
	if err != nil {
		hint := ""
		if kind == "vllm" {
			hint = fmt.Sprintf(". Is the server running? `vllm serve %s --port 8000`", model)
		}
		return nil, fmt.Errorf("%w: %s endpoint at %s: %w%s", ErrEngineUnreachable, kind, base, err, hint)
	}
	for _, m := range models.Data {
		info.Models = append(info.Models, m.ID)
	}
	switch kind {
	case "vllm":
		if len(models.Data) > 0 && models.Data[0].Version != "" {
			info.Version = models.Data[0].Version
		} else if v, err := p.jsonField(ctx, "/version", "version", VersionProbeTimeout); err == nil && v != "" {
			info.Version = v
		}
	case "sglang":
		if v, err := p.jsonField(ctx, "/get_server_info", "version", ProbeTimeout); err == nil && v != "" {
			info.Version = v
		}
	case "trtllm":
		if h, err := p.header(ctx, "/health/load"); err == nil && trtllmVersion(h) != "" {
			info.Version = trtllmVersion(h)
		} else if v := trtllmVersion(hdr); v != "" {
			info.Version = v
		}
	case "llamacpp":
		if v, err := p.llamacppVersion(ctx); err == nil && v != "" {
			info.Version = v
		}
	}
	if model != "" && !slices.Contains(info.Models, model) {
		return info, fmt.Errorf("%w: %q is not among the models %s serves (%s); pass the served name explicitly if it differs from the envelope's model.id",
			ErrModelNotServed, model, base, textsafe.Escape(strings.Join(info.Models, ", ")))
	}
	return info, nil
}

type prober struct {
	hc     *http.Client
	base   string
	apiKey string
}

type modelList struct {
	Data []struct {
		ID      string `json:"id"`
		Version string `json:"version"`
	} `json:"data"`
}

func (p prober) get(ctx context.Context, path string, timeout time.Duration) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("User-Agent", "benchprof-probe")
	if p.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp, body, fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	return resp, body, nil
}

func (p prober) models(ctx context.Context) (*modelList, http.Header, error) {
	resp, body, err := p.get(ctx, "/v1/models", ProbeTimeout)
	if err != nil {
		return nil, nil, err
	}
	var ml modelList
	if err := json.Unmarshal(body, &ml); err != nil {
		return nil, nil, fmt.Errorf("/v1/models returned non-JSON: %s", textsafe.Escape(truncateBytes(body, 120)))
	}
	return &ml, resp.Header, nil
}

func (p prober) jsonField(ctx context.Context, path, field string, timeout time.Duration) (string, error) {
	_, body, err := p.get(ctx, path, timeout)
	if err != nil {
		return "", err
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return "", err
	}
	s, _ := m[field].(string)
	return s, nil
}

func (p prober) header(ctx context.Context, path string) (http.Header, error) {
	resp, _, err := p.get(ctx, path, ProbeTimeout)
	if err != nil {
		return nil, err
	}
	return resp.Header, nil
}

// trtllmVersion reads "trtllm-<version>" from a Server header.
func trtllmVersion(h http.Header) string {
	if h == nil {
		return ""
	}
	for _, s := range strings.Fields(h.Get("Server")) {
		if v, ok := strings.CutPrefix(s, "trtllm-"); ok {
			return v
		}
	}
	return ""
}

func (p prober) llamacppVersion(ctx context.Context) (string, error) {
	_, body, err := p.get(ctx, "/props", ProbeTimeout)
	if err != nil {
		return "", err
	}
	var props struct {
		SystemInfo any `json:"system_info"`
		ModelPath  any `json:"model_path"`
	}
	if err := json.Unmarshal(body, &props); err != nil {
		return "", err
	}
	si, _ := props.SystemInfo.(string)
	_, pathIsStr := props.ModelPath.(string)
	if si != "" && (strings.Contains(si, "llama.cpp") || pathIsStr) {
		r := []rune(si)
		if len(r) > 60 {
			r = r[:60]
		}
		return string(r), nil
	}
	return "", nil
}
