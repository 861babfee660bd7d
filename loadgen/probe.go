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
	// Kind is the engine kind the engine identified itself as, or the kind
	// Probe was asked for when it did not say (Confirmed is then false).
	Kind string
	// Requested is the kind Probe was asked for (the source envelope's).
	Requested string
	// Confirmed reports whether the engine itself said it is Kind: its
	// /v1/models names Kind as the models' owner, or Kind's own version
	// endpoint answered.
	Confirmed bool
	Version   string // "unknown" when the engine does not say
	Models    []string
}

// ownerKinds maps the owned_by of /v1/models entries to engine kinds.
var ownerKinds = map[string]string{
	"vllm": "vllm", "sglang": "sglang", "llamacpp": "llamacpp", "llama.cpp": "llamacpp",
	"tensorrt_llm": "trtllm", "trtllm": "trtllm", "mlx": "mlx",
}

// Probe asks the engine at baseURL what it is and checks that it serves
// model, failing with the served models listed when it does not.
//
// The kind is a claim of the source envelope, so Probe checks it: when the
// models in /v1/models are owned by a known kind ("vllm", "sglang",
// "llamacpp", "tensorrt_llm") that kind wins; otherwise the requested
// kind's version endpoint is tried, and when it does not answer, the other
// kinds' in turn. The version comes from the identified kind's endpoint,
// as the reference reads it (vLLM: /v1/models data[0].version, then
// /version; SGLang: /get_server_info; TensorRT-LLM: the Server header of
// /health/load; llama.cpp: /props system_info; MLX: none). When nothing
// identifies the engine, Kind is the requested kind with Confirmed false.
//
// hc may be nil (a fresh transport without a proxy is then used); a copy of
// it made with [SameOriginOnly] is used, so a cross-origin redirect fails
// the probe (wrapping [ErrCrossOriginRedirect]) instead of taking apiKey
// elsewhere. apiKey, if set, is sent as a bearer token.
func Probe(ctx context.Context, hc *http.Client, baseURL, kind, model, apiKey string) (*EngineInfo, error) {
	if !slices.Contains(engineKinds, kind) {
		return nil, fmt.Errorf("%w %q: expected one of %s", ErrUnknownEngine, kind, strings.Join(engineKinds, ", "))
	}
	base, err := NormalizeBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	p := prober{hc: SameOriginOnly(hc), base: base, apiKey: apiKey}
	info := &EngineInfo{Kind: kind, Requested: kind, Version: "unknown"}

	models, hdr, err := p.models(ctx)
	if err != nil {
		hint := ""
		if kind == "vllm" {
			hint = fmt.Sprintf(". Is the server running? `vllm serve %s --port 8000`", model)
		}
		return nil, fmt.Errorf("%w: %s endpoint at %s: %w%s", ErrEngineUnreachable, kind, base, err, hint)
	}
	owner := "" // a kind only when every model names the same one
	for i, m := range models.Data {
		info.Models = append(info.Models, m.ID)
		switch k := ownerKinds[strings.ToLower(m.OwnedBy)]; {
		case i == 0:
			owner = k
		case k != owner:
			owner = ""
		}
	}
	if owner != "" {
		info.Kind, info.Confirmed = owner, true
		if v, ok := p.version(ctx, owner, models, hdr); ok {
			info.Version = v
		}
	} else {
		others := slices.DeleteFunc(EngineKinds(), func(k string) bool { return k == kind })
		for _, k := range append([]string{kind}, others...) {
			if v, ok := p.version(ctx, k, models, hdr); ok {
				info.Kind, info.Version, info.Confirmed = k, v, true
				break
			}
		}
	}
	if model != "" && !slices.Contains(info.Models, model) {
		return info, fmt.Errorf("%w: %q is not among the models %s serves (%s); pass the served name explicitly if it differs from the envelope's model.id",
			ErrModelNotServed, model, base, textsafe.Escape(strings.Join(info.Models, ", ")))
	}
	return info, nil
}

// version asks the engine for its version the way engines of kind answer;
// ok is false when it does not answer so (MLX never does).
func (p prober) version(ctx context.Context, kind string, models *modelList, hdr http.Header) (string, bool) {
	var v string
	switch kind {
	case "vllm":
		if len(models.Data) > 0 && models.Data[0].Version != "" {
			v = models.Data[0].Version
		} else if s, err := p.jsonField(ctx, "/version", "version", VersionProbeTimeout); err == nil {
			v = s
		}
	case "sglang":
		if s, err := p.jsonField(ctx, "/get_server_info", "version", ProbeTimeout); err == nil {
			v = s
		}
	case "trtllm":
		if h, err := p.header(ctx, "/health/load"); err == nil && trtllmVersion(h) != "" {
			v = trtllmVersion(h)
		} else {
			v = trtllmVersion(hdr)
		}
	case "llamacpp":
		if s, err := p.llamacppVersion(ctx); err == nil {
			v = s
		}
	}
	v = versionText(v)
	return v, v != ""
}

// maxVersionText bounds the version string an engine may put into a signed
// envelope; real ones are a few dozen characters.
const maxVersionText = 128

// versionText makes an engine's version claim fit to sign and show: at
// most maxVersionText bytes, control characters escaped.
func versionText(v string) string {
	return textsafe.Escape(truncateString(strings.TrimSpace(v), maxVersionText))
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
		OwnedBy string `json:"owned_by"`
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
