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

// Names of the built-in engine kinds, as envelopes record them (engine.name;
// the reference's EngineKind, FACTS §4.1).
const (
	EngineVLLM        = "vllm"
	EngineSGLang      = "sglang"
	EngineTensorRTLLM = "trtllm"
	EngineLlamaCpp    = "llamacpp"
	EngineMLX         = "mlx"
)

// Probe timeouts, as the reference's (FACTS §4.5).
const (
	ProbeTimeout        = 5 * time.Second
	VersionProbeTimeout = 3 * time.Second
)

// ErrUnknownEngine is wrapped by the error of [Probe] and [LookupEngineKind]
// for an engine kind name that is none of the kinds considered: the
// built-in ones and those added with [WithEngineKinds].
var ErrUnknownEngine = errors.New("unknown engine")

// ErrModelNotServed is wrapped by Probe's error when the engine does not
// list the model in /v1/models.
var ErrModelNotServed = errors.New("model not served by the engine")

// ErrEngineUnreachable is wrapped by Probe's error when the engine does not
// answer /v1/models.
var ErrEngineUnreachable = errors.New("engine not reachable")

// EngineKind describes a kind of OpenAI-compatible engine to [Probe]: its
// name, how its /v1/models says that it is one, and how to ask it its
// version. The five built-in kinds are [EngineKinds]; describe another one
// and pass it with [WithEngineKinds].
//
// A set of kinds is valid when every Name is non-empty, has no surrounding
// white space and is unique, and no owner (compared without regard to
// case) belongs to two kinds.
type EngineKind struct {
	// Name is the kind's name as envelopes record it (engine.name), e.g.
	// "vllm".
	Name string
	// Owners are the owned_by values of /v1/models entries that mark an
	// engine of this kind, compared without regard to case: vLLM lists
	// "vllm", TensorRT-LLM "tensorrt_llm". None is needed.
	Owners []string
	// Version asks the engine for its version the way engines of this kind
	// answer, through p. ok false, or an empty version, means that the
	// engine did not answer so. Probe calls it at most once per call, from
	// the caller's goroutine, and bounds and escapes what it returns; it
	// must honour ctx. nil means engines of this kind do not say (MLX):
	// only Owners can then confirm one.
	Version func(ctx context.Context, p *Prober) (version string, ok bool)
}

// builtinKinds builds the reference's engine kinds afresh on every call, so
// no caller can change what another sees; the order is the one Probe tries
// them in.
func builtinKinds() []EngineKind {
	return []EngineKind{
		{Name: EngineVLLM, Owners: []string{"vllm"}, Version: vllmVersion},
		{Name: EngineSGLang, Owners: []string{"sglang"}, Version: sglangVersion},
		{Name: EngineTensorRTLLM, Owners: []string{"tensorrt_llm", "trtllm"}, Version: trtllmVersion},
		{Name: EngineLlamaCpp, Owners: []string{"llamacpp", "llama.cpp"}, Version: llamacppVersion},
		{Name: EngineMLX, Owners: []string{"mlx"}},
	}
}

// EngineKinds returns the kinds Probe considers, in the order it tries
// them: the built-in ones (vLLM, SGLang, TensorRT-LLM, llama.cpp and MLX),
// then extra. Each call returns fresh copies. It fails, with an error
// wrapping [ErrInvalidOption], when the set is not valid (see
// [EngineKind]); without extra it never fails.
func EngineKinds(extra ...EngineKind) ([]EngineKind, error) {
	kinds := append(builtinKinds(), extra...)
	names := map[string]bool{}
	owners := map[string]string{}
	var errs []error
	for _, k := range kinds {
		switch {
		case k.Name == "" || k.Name != strings.TrimSpace(k.Name):
			errs = append(errs, fmt.Errorf("engine kind %q: the name must be non-empty, without surrounding white space", k.Name))
			continue
		case names[k.Name]:
			errs = append(errs, fmt.Errorf("engine kind %q is described twice", k.Name))
			continue
		}
		names[k.Name] = true
		for _, o := range k.Owners {
			lo := strings.ToLower(o)
			switch prev, taken := owners[lo]; {
			case o == "":
				errs = append(errs, fmt.Errorf("engine kind %q: an empty owner", k.Name))
			case taken && prev != k.Name:
				errs = append(errs, fmt.Errorf("engine kinds %q and %q both claim the owner %q", prev, k.Name, o))
			default:
				owners[lo] = k.Name
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("loadgen: %w: %w", ErrInvalidOption, err)
	}
	for i := range kinds {
		kinds[i].Owners = slices.Clone(kinds[i].Owners)
	}
	return kinds, nil
}

// LookupEngineKind returns the kind named name (exactly, as envelopes spell
// it) among the built-in kinds and extra. A name that is none of them gives
// an error wrapping [ErrUnknownEngine] that lists the known ones; a set
// that is not valid, one wrapping [ErrInvalidOption] (see [EngineKinds]).
func LookupEngineKind(name string, extra ...EngineKind) (EngineKind, error) {
	kinds, err := EngineKinds(extra...)
	if err != nil {
		return EngineKind{}, err
	}
	return lookupKind(kinds, name)
}

func lookupKind(kinds []EngineKind, name string) (EngineKind, error) {
	for _, k := range kinds {
		if k.Name == name {
			return k, nil
		}
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Name
	}
	return EngineKind{}, fmt.Errorf("%w %q: expected one of %s", ErrUnknownEngine, name, strings.Join(names, ", "))
}

// ProbeOption configures [Probe].
type ProbeOption interface {
	applyProbe(*probeConfig)
}

type probeOptionFunc func(*probeConfig)

func (f probeOptionFunc) applyProbe(c *probeConfig) { f(c) }

type probeConfig struct {
	extra []EngineKind
}

// WithEngineKinds adds kinds to the built-in ones: the requested kind may
// then be one of them, an engine may be identified as one, and Probe tries
// them after the built-in kinds, in the order given. Repeated uses add
// kinds. A set that is not valid (see [EngineKind]) makes Probe fail with
// an error wrapping [ErrInvalidOption]. By default, if this option is not
// used, only the built-in kinds are considered.
func WithEngineKinds(kinds ...EngineKind) ProbeOption {
	return probeOptionFunc(func(c *probeConfig) { c.extra = append(c.extra, kinds...) })
}

// EngineInfo is what a probe found.
type EngineInfo struct {
	// Kind is the engine kind the engine identified itself as, or the kind
	// Probe was asked for when it did not say (Confirmed is then false).
	Kind string
	// Requested is the kind Probe was asked for (the source envelope's).
	Requested string
	// Confirmed reports whether the engine itself said it is Kind: its
	// /v1/models names one of Kind's owners as the models' owner, or Kind's
	// version endpoint answered.
	Confirmed bool
	Version   string // "unknown" when the engine does not say
	Models    []string
}

// Probe asks the engine at baseURL what it is and checks that it serves
// model, failing with the served models listed when it does not.
//
// kind must name one of the kinds considered (the built-in ones and those
// of [WithEngineKinds]); any other name fails at once with an error
// wrapping [ErrUnknownEngine]. The kind is a claim of the source envelope,
// so Probe checks it: when every model in /v1/models is owned by one of the
// same kind's [EngineKind.Owners] ("vllm", "sglang", "tensorrt_llm",
// "llamacpp", ...) that kind wins; otherwise the requested kind's
// [EngineKind.Version] is tried, and when it does not answer, the other
// kinds' in turn, in [EngineKinds] order. The version comes from the
// identified kind's Version, as the reference reads it for the built-in
// kinds (vLLM: /v1/models data[0].version, then /version; SGLang:
// /get_server_info; TensorRT-LLM: the Server header of /health/load, then
// of /v1/models; llama.cpp: /props system_info; MLX: none), cut to 128
// bytes and escaped. When nothing identifies the engine, Kind is the
// requested kind with Confirmed false.
//
// A nil option is an error wrapping [ErrInvalidOption].
//
// hc may be nil (a fresh transport without a proxy is then used); a copy of
// it made with [SameOriginOnly] is used, so a cross-origin redirect fails
// the probe (wrapping [ErrCrossOriginRedirect]) instead of taking apiKey
// elsewhere. apiKey, if set, is sent as a bearer token.
func Probe(ctx context.Context, hc *http.Client, baseURL, kind, model, apiKey string, opts ...ProbeOption) (*EngineInfo, error) {
	var cfg probeConfig
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("loadgen: Probe: %w: option %d is nil", ErrInvalidOption, i+1)
		}
		o.applyProbe(&cfg)
	}
	kinds, err := EngineKinds(cfg.extra...)
	if err != nil {
		return nil, err
	}
	requested, err := lookupKind(kinds, kind)
	if err != nil {
		return nil, err
	}
	base, err := NormalizeBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	p := &Prober{hc: SameOriginOnly(hc), base: base, apiKey: apiKey}
	info := &EngineInfo{Kind: kind, Requested: kind, Version: "unknown"}

	if err := p.fetchModels(ctx); err != nil {
		hint := ""
		if kind == EngineVLLM {
			hint = fmt.Sprintf(". Is the server running? `vllm serve %s --port 8000`", model)
		}
		return nil, fmt.Errorf("%w: %s endpoint at %s: %w%s", ErrEngineUnreachable, kind, base, err, hint)
	}
	ownerKind := map[string]*EngineKind{}
	for i, k := range kinds {
		for _, o := range k.Owners {
			ownerKind[strings.ToLower(o)] = &kinds[i]
		}
	}
	var owner *EngineKind // a kind only when every model names the same one
	for i, m := range p.models {
		info.Models = append(info.Models, m.ID)
		switch k := ownerKind[strings.ToLower(m.OwnedBy)]; {
		case i == 0:
			owner = k
		case k != owner:
			owner = nil
		}
	}
	if owner != nil {
		info.Kind, info.Confirmed = owner.Name, true
		if v, ok := p.version(ctx, *owner); ok {
			info.Version = v
		}
	} else {
		others := slices.DeleteFunc(slices.Clone(kinds), func(k EngineKind) bool { return k.Name == kind })
		for _, k := range append([]EngineKind{requested}, others...) {
			if v, ok := p.version(ctx, k); ok {
				info.Kind, info.Version, info.Confirmed = k.Name, v, true
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

// version asks the engine for its version the way engines of kind k
// answer; ok is false when it does not answer so (MLX never does).
func (p *Prober) version(ctx context.Context, k EngineKind) (string, bool) {
	if k.Version == nil {
		return "", false
	}
	v, ok := k.Version(ctx, p)
	if !ok {
		return "", false
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

// maxProbeBody bounds the body of one probe response that is read.
const maxProbeBody = 4 << 20

// Prober is how an [EngineKind]'s Version asks the engine: GET requests to
// the engine's base URL through the probe's client, and the /v1/models
// answer that Probe already has. Probe makes one per call; its methods are
// safe for concurrent use.
type Prober struct {
	hc           *http.Client
	base         string
	apiKey       string
	models       []ModelEntry
	modelsHeader http.Header
}

// ModelEntry is one entry of an engine's /v1/models list.
type ModelEntry struct {
	// ID is the served model name.
	ID string
	// OwnedBy is the entry's owned_by.
	OwnedBy string
	// Version is the entry's version, which vLLM sends and others do not.
	Version string
}

// Models returns the entries of the engine's /v1/models list, in order, as
// a fresh slice.
func (p *Prober) Models() []ModelEntry { return slices.Clone(p.models) }

// ModelsHeader returns a copy of the response header of /v1/models.
func (p *Prober) ModelsHeader() http.Header { return p.modelsHeader.Clone() }

// Get sends GET path (relative to the engine's base URL, without /v1:
// "/version") with the probe's User-Agent and API key, and returns the
// response's body (at most 4 MiB are read) and header. It gives up after
// timeout ([ProbeTimeout] when timeout ≤ 0) or when ctx is done. A status
// other than 200 is an error naming it; the header and body are returned
// with it. The client never follows a redirect to another origin.
func (p *Prober) Get(ctx context.Context, path string, timeout time.Duration) (body []byte, header http.Header, err error) {
	if timeout <= 0 {
		timeout = ProbeTimeout
	}
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
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if err != nil {
		return nil, resp.Header, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, resp.Header, fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	return body, resp.Header, nil
}

// fetchModels reads /v1/models into p.
func (p *Prober) fetchModels(ctx context.Context) error {
	body, hdr, err := p.Get(ctx, "/v1/models", ProbeTimeout)
	if err != nil {
		return err
	}
	var ml struct {
		Data []struct {
			ID      string `json:"id"`
			Version string `json:"version"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ml); err != nil {
		return fmt.Errorf("/v1/models returned non-JSON: %s", textsafe.Escape(truncateBytes(body, 120)))
	}
	for _, m := range ml.Data {
		p.models = append(p.models, ModelEntry{ID: m.ID, OwnedBy: m.OwnedBy, Version: m.Version})
	}
	p.modelsHeader = hdr.Clone()
	return nil
}

// jsonField reads the string member field of the JSON object at path.
func (p *Prober) jsonField(ctx context.Context, path, field string, timeout time.Duration) (string, error) {
	body, _, err := p.Get(ctx, path, timeout)
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

// vllmVersion: /v1/models data[0].version, else /version's version.
func vllmVersion(ctx context.Context, p *Prober) (string, bool) {
	if len(p.models) > 0 && p.models[0].Version != "" {
		return p.models[0].Version, true
	}
	s, err := p.jsonField(ctx, "/version", "version", VersionProbeTimeout)
	return s, err == nil
}

// sglangVersion: /get_server_info's version.
func sglangVersion(ctx context.Context, p *Prober) (string, bool) {
	s, err := p.jsonField(ctx, "/get_server_info", "version", ProbeTimeout)
	return s, err == nil
}

// trtllmVersion: the Server header of /health/load, else of /v1/models.
func trtllmVersion(ctx context.Context, p *Prober) (string, bool) {
	if _, h, err := p.Get(ctx, "/health/load", ProbeTimeout); err == nil {
		if v := trtllmServerVersion(h); v != "" {
			return v, true
		}
	}
	v := trtllmServerVersion(p.modelsHeader)
	return v, v != ""
}

// trtllmServerVersion reads "trtllm-<version>" from a Server header.
func trtllmServerVersion(h http.Header) string {
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

// llamacppVersion: /props system_info, cut to 60 characters, when it names
// llama.cpp or model_path is a string.
func llamacppVersion(ctx context.Context, p *Prober) (string, bool) {
	body, _, err := p.Get(ctx, "/props", ProbeTimeout)
	if err != nil {
		return "", false
	}
	var props struct {
		SystemInfo any `json:"system_info"`
		ModelPath  any `json:"model_path"`
	}
	if err := json.Unmarshal(body, &props); err != nil {
		return "", false
	}
	si, _ := props.SystemInfo.(string)
	_, pathIsStr := props.ModelPath.(string)
	if si != "" && (strings.Contains(si, "llama.cpp") || pathIsStr) {
		r := []rune(si)
		if len(r) > 60 {
			r = r[:60]
		}
		return string(r), true
	}
	return "", false
}
