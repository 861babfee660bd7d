package catalog

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/benchprof/benchprof/envelope"
)

// Sentinel errors of [LoadPrompts]; test them with errors.Is.
var (
	// ErrDatasetUnavailable: the URI names a dataset that this offline
	// library cannot reach (hf://, fixtures://). The message says how to
	// pass it as a local file instead.
	ErrDatasetUnavailable = errors.New("dataset cannot be reached offline")
	// ErrUnsupportedScheme: the URI's scheme is not one LoadPrompts knows.
	ErrUnsupportedScheme = errors.New("unsupported dataset URI scheme")
	// ErrEmptyDataset: the source holds no usable prompt. Unlike the
	// reference, LoadPrompts never falls back to the builtin prompts
	// (FACTS §10.9).
	ErrEmptyDataset = errors.New("no prompts")
)

// BuiltinURI is the URI of the builtin prompt list.
const BuiltinURI = "builtin://"

// BuiltinDatasetID is the dataset id [LoadPrompts] gives the builtin list
// unless [WithDatasetID] says otherwise.
const BuiltinDatasetID = "builtin"

// DefaultDatasetMaxLineBytes is the longest JSONL line [LoadPrompts] reads
// unless [WithDatasetMaxLineBytes] says otherwise (16 MiB).
const DefaultDatasetMaxLineBytes = 16 << 20

//go:embed builtin-prompts.json
var builtinPromptsJSON []byte

// BuiltinPrompts returns the reference's 10 builtin prompts (FACTS §4.3), in
// order, as a fresh slice.
func BuiltinPrompts() []string {
	var f struct {
		Prompts []string `json:"prompts"`
	}
	if err := json.Unmarshal(builtinPromptsJSON, &f); err != nil || len(f.Prompts) == 0 {
		// The file is embedded at build time and checked by the tests.
		panic(fmt.Sprintf("catalog: embedded builtin-prompts.json is invalid: %v", err))
	}
	return f.Prompts
}

// DatasetFormat selects how a local dataset file is parsed.
type DatasetFormat string

// Dataset file formats.
const (
	// DatasetAutoFormat picks the format from the file's content: a file
	// whose first non-blank character is '[' is a JSON array
	// ([DatasetShareGPT]); any other file is [DatasetJSONL].
	DatasetAutoFormat DatasetFormat = "auto"
	// DatasetJSONL is one JSON value per line, read as the reference reads
	// file:// datasets: a line that is a JSON string, or an object whose
	// "prompt" member is a string, gives one prompt (kept verbatim, even
	// when empty); blank lines are ignored; every other line (invalid JSON
	// or UTF-8, numbers, arrays, objects without a string "prompt") is
	// skipped and counted in [Dataset.Skipped].
	DatasetJSONL DatasetFormat = "jsonl"
	// DatasetShareGPT is a JSON array of conversations, as in the ShareGPT
	// dumps: each element {"conversations": [{"from": "human", "value":
	// ...}, {"from": "gpt", ...}, ...]} gives the value of its first human
	// turn. Also accepted: "messages" for "conversations", turns spelled
	// {"role": "user", "content": ...}, "from": "user", and elements that
	// are a bare JSON string or a {"prompt": string} object. Elements with
	// no such prompt, or whose prompt is empty or only whitespace, are
	// skipped and counted.
	DatasetShareGPT DatasetFormat = "sharegpt"
)

// DatasetOption configures [LoadPrompts].
type DatasetOption interface {
	applyDataset(*datasetConfig)
}

type datasetOptionFunc func(*datasetConfig)

func (f datasetOptionFunc) applyDataset(c *datasetConfig) { f(c) }

type datasetConfig struct {
	id      string
	format  DatasetFormat
	maxLine int
}

// WithDatasetID sets [Dataset.ID]. By default, if this option is not used,
// the id is [BuiltinDatasetID] for the builtin list and the file's base name
// without its extension for a file ("sharegpt" for /data/sharegpt.json).
// A repeat replaces the earlier value.
func WithDatasetID(id string) DatasetOption {
	return datasetOptionFunc(func(c *datasetConfig) { c.id = id })
}

// WithDatasetFormat forces the format of a local file. By default, if this
// option is not used, it is [DatasetAutoFormat]. It is ignored for the
// builtin list. A repeat replaces the earlier value; an unknown format is
// an error.
func WithDatasetFormat(f DatasetFormat) DatasetOption {
	return datasetOptionFunc(func(c *datasetConfig) { c.format = f })
}

// WithDatasetMaxLineBytes bounds one JSONL line; a longer line is an error
// (not a skipped line). By default, if this option is not used, it is
// [DefaultDatasetMaxLineBytes]. n must be positive. A repeat replaces the
// earlier value.
func WithDatasetMaxLineBytes(n int) DatasetOption {
	return datasetOptionFunc(func(c *datasetConfig) { c.maxLine = n })
}

// Dataset is a sized prompt list and where it came from.
type Dataset struct {
	// ID is the dataset id the envelope records (dataset.id).
	ID string
	// URI is the URI that was loaded ([BuiltinURI] for an empty one).
	URI string
	// Prompts holds exactly n prompts, sized by [SizePrompts].
	Prompts []string
	// Hash is envelope.DatasetHash(Prompts), the envelope's dataset.hash.
	Hash string
	// SourcePrompts is how many prompts were taken from the source before
	// sizing. When it is below len(Prompts), prompts repeat.
	SourcePrompts int
	// Skipped counts the lines (JSONL) or array elements (ShareGPT) that
	// were skipped as not holding a prompt. LoadPrompts stops reading once
	// it has n prompts, so records after that are neither read nor counted.
	Skipped int
	// FirstSkipped is the line number (JSONL) or array element number
	// (ShareGPT), both counted from 1, of the first skipped record, or 0 if
	// none was skipped.
	FirstSkipped int
}

// Warnings returns what a caller should show the user about the dataset:
// skipped records, and a file with fewer prompts than n (prompts repeat,
// which flatters prefix caches). It is empty for the builtin list.
func (d Dataset) Warnings() []string {
	var ws []string
	if d.Skipped > 0 {
		ws = append(ws, fmt.Sprintf("dataset %s: skipped %d record(s) without a prompt (the first at line/element %d)",
			d.URI, d.Skipped, d.FirstSkipped))
	}
	if scheme, _ := uriScheme(d.URI); scheme != "builtin" && d.SourcePrompts > 0 && d.SourcePrompts < len(d.Prompts) {
		ws = append(ws, fmt.Sprintf("dataset %s: only %d prompts, repeated to %d", d.URI, d.SourcePrompts, len(d.Prompts)))
	}
	return ws
}

// SizePrompts sizes a prompt list to n exactly as the reference does
// (FACTS §4.3): the first n prompts if n ≤ len(prompts), else the list
// repeated n/len+1 times and truncated to n. It returns a new slice; it is
// empty when n ≤ 0 or prompts is empty.
func SizePrompts(prompts []string, n int) []string {
	if n <= 0 || len(prompts) == 0 {
		return []string{}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = prompts[i%len(prompts)]
	}
	return out
}

// LoadPrompts loads the prompts at uri, sizes them to n with [SizePrompts]
// and hashes the sized list. n must be positive. URIs:
//
//   - "" or "builtin://…" (anything after the scheme is ignored): the 10
//     builtin prompts ([BuiltinPrompts]). With n = 200 the hash is the one
//     the reference records for its builtin suites.
//   - "file://<path>": a local file; <path> is taken literally (no
//     percent-decoding), so "file:///data/x.jsonl" is /data/x.jsonl and
//     "file://data/x.jsonl" is data/x.jsonl, relative to the working
//     directory, as in the reference. The format is [DatasetJSONL] or
//     [DatasetShareGPT], by content or [WithDatasetFormat].
//   - a URI without "://": a local path, read like file://.
//   - "hf://…" and "fixtures://…": an error wrapping
//     [ErrDatasetUnavailable] that says how to pass a local file. (The
//     reference's hf:// loader always fails and silently uses the builtin
//     prompts; to reproduce a reference sharegpt-v3 envelope's dataset
//     hash, load "builtin://" with n = 1000.)
//   - any other scheme (http:// included): an error wrapping
//     [ErrUnsupportedScheme] that names it.
//
// A file with no prompt is an error wrapping [ErrEmptyDataset]; there is no
// fallback to the builtin list. A missing file gives an error for which
// errors.Is(err, fs.ErrNotExist) holds. Every error about a file names it.
// Files are streamed and reading stops after n prompts, so large dumps cost
// time and memory linear in what is read. ctx cancels the read.
func LoadPrompts(ctx context.Context, uri string, n int, opts ...DatasetOption) (Dataset, error) {
	cfg := datasetConfig{format: DatasetAutoFormat, maxLine: DefaultDatasetMaxLineBytes}
	for i, o := range opts {
		if o == nil {
			return Dataset{}, fmt.Errorf("dataset %s: option %d is nil", uri, i+1)
		}
		o.applyDataset(&cfg)
	}
	if n <= 0 {
		return Dataset{}, fmt.Errorf("dataset %s: size n=%d must be positive", uri, n)
	}
	switch cfg.format {
	case DatasetAutoFormat, DatasetJSONL, DatasetShareGPT:
	default:
		return Dataset{}, fmt.Errorf("dataset %s: unknown format %q (want %q, %q or %q)",
			uri, cfg.format, DatasetAutoFormat, DatasetJSONL, DatasetShareGPT)
	}
	if cfg.maxLine <= 0 {
		return Dataset{}, fmt.Errorf("dataset %s: max line size %d must be positive", uri, cfg.maxLine)
	}
	if err := ctx.Err(); err != nil {
		return Dataset{}, err
	}

	var (
		src   []string
		d     Dataset
		defID string
	)
	scheme, isURI := uriScheme(uri)
	d.URI = uri
	switch {
	case scheme == "builtin":
		if uri == "" {
			d.URI = BuiltinURI
		}
		src = BuiltinPrompts()
		defID = BuiltinDatasetID
	case scheme == "file" || !isURI:
		path := uri
		if isURI {
			path = uri[len("file://"):]
		}
		if path == "" {
			return Dataset{}, fmt.Errorf("dataset %s: no file path after file://", uri)
		}
		var err error
		src, err = readPromptFile(ctx, path, n, cfg, &d)
		if err != nil {
			return Dataset{}, err
		}
		base := filepath.Base(path)
		defID = strings.TrimSuffix(base, filepath.Ext(base))
	case scheme == "hf":
		return Dataset{}, fmt.Errorf("%s: %w: Hugging Face datasets are not downloaded; "+
			"download it and pass the local file, e.g. file:///path/sharegpt.json "+
			"(a ShareGPT JSON array, or JSONL of {\"prompt\": ...} lines)", uri, ErrDatasetUnavailable)
	case scheme == "fixtures":
		key := uri[len("fixtures://"):]
		return Dataset{}, fmt.Errorf("%s: %w: fixture keys are not resolved; "+
			"pass the fixture's JSONL file, e.g. file://$BENCH_FIXTURES_ROOT/%s.jsonl "+
			"(after `bench fixtures fetch %s`)", uri, ErrDatasetUnavailable, key, key)
	default:
		return Dataset{}, fmt.Errorf("%s: %w %s:// (want builtin://, file:// or a local path)",
			uri, ErrUnsupportedScheme, scheme)
	}

	d.ID = defID
	if cfg.id != "" {
		d.ID = cfg.id
	}
	d.SourcePrompts = len(src)
	d.Prompts = SizePrompts(src, n)
	d.Hash = envelope.DatasetHash(d.Prompts)
	return d, nil
}

// uriScheme returns the lower-cased scheme of uri ("builtin" for ""), and
// whether uri has one; a plain local path has none.
func uriScheme(uri string) (scheme string, isURI bool) {
	if uri == "" {
		return "builtin", true
	}
	if i := strings.Index(uri, "://"); i >= 0 {
		return strings.ToLower(uri[:i]), true
	}
	return "", false
}

// readPromptFile reads up to n prompts from the file at path, recording
// skipped records in d.
func readPromptFile(ctx context.Context, path string, n int, cfg datasetConfig, d *Dataset) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err) // the error names the file
	}
	defer f.Close()

	br := bufio.NewReaderSize(f, 64<<10)
	lead, first, err := skipLeadingSpace(br)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	format := cfg.format
	if format == DatasetAutoFormat {
		format = DatasetJSONL
		if first == '[' {
			format = DatasetShareGPT
		}
	}

	var prompts []string
	skip := func(pos int) {
		d.Skipped++
		if d.FirstSkipped == 0 {
			d.FirstSkipped = pos
		}
	}
	switch format {
	case DatasetShareGPT:
		if first != '[' {
			return nil, fmt.Errorf("dataset %s: not a ShareGPT file: want a JSON array", path)
		}
		prompts, err = readJSONArray(ctx, br, n, skip)
	default:
		prompts, err = readJSONL(ctx, br, lead, n, cfg.maxLine, skip)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	if len(prompts) == 0 {
		what := "no records"
		if d.Skipped > 0 {
			what = fmt.Sprintf("%d records, none of them a prompt", d.Skipped)
		}
		return nil, fmt.Errorf("dataset %s: %w (%s format, %s)", path, ErrEmptyDataset, format, what)
	}
	return prompts, nil
}

// skipLeadingSpace consumes a UTF-8 byte order mark and leading JSON
// whitespace, returning how many newlines it consumed and the first other
// byte (0 at EOF), which it leaves unread.
func skipLeadingSpace(br *bufio.Reader) (newlines int, first byte, err error) {
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return newlines, 0, nil
		}
		if err != nil {
			return newlines, 0, err
		}
		switch c {
		case '\n':
			newlines++
		case ' ', '\t', '\r':
		default:
			return newlines, c, br.UnreadByte()
		}
	}
}

// ctxCheckEvery is how many records are read between checks of ctx.
const ctxCheckEvery = 1024

// readJSONL reads JSONL records until EOF or n prompts. lead is the number
// of lines already consumed, for line numbers.
func readJSONL(ctx context.Context, r io.Reader, lead, n, maxLine int, skip func(int)) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(64<<10, maxLine)), maxLine)
	var prompts []string
	line := lead
	for len(prompts) < n && sc.Scan() {
		line++
		if line%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if p, ok := jsonlPrompt(b); ok {
			prompts = append(prompts, p)
		} else {
			skip(line)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d is longer than %d bytes: %w", line+1, maxLine, err)
		}
		return nil, err
	}
	return prompts, nil
}

// jsonlPrompt returns the prompt of one JSONL line, as the reference takes
// it: a JSON string, or an object whose "prompt" member (exact key; the last
// one if repeated) is a string.
func jsonlPrompt(b []byte) (string, bool) {
	if !utf8.Valid(b) {
		return "", false
	}
	switch b[0] {
	case '"':
		var s string
		if json.Unmarshal(b, &s) != nil {
			return "", false
		}
		return s, true
	case '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(b, &obj) != nil {
			return "", false
		}
		return rawString(obj["prompt"])
	}
	return "", false
}

// rawString decodes raw if it is a JSON string.
func rawString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// readJSONArray stream-decodes a JSON array of ShareGPT records until its
// end or n prompts. A syntax error is fatal; an element without a prompt is
// skipped.
func readJSONArray(ctx context.Context, r io.Reader, n int, skip func(int)) ([]string, error) {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil { // the '[' already peeked
		return nil, err
	}
	var prompts []string
	for i := 0; len(prompts) < n && dec.More(); i++ {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("array element %d: %w", i+1, err)
		}
		if p, ok := shareGPTPrompt(raw); ok && strings.TrimSpace(p) != "" {
			prompts = append(prompts, p)
		} else {
			skip(i + 1)
		}
	}
	if len(prompts) < n { // the whole array was read: check it ends well
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("end of array: %w", err)
		}
	}
	return prompts, nil
}

// shareGPTTurn is one turn of a conversation, in either spelling.
type shareGPTTurn struct {
	From    *string `json:"from"`
	Value   *string `json:"value"`
	Role    *string `json:"role"`
	Content *string `json:"content"`
}

// shareGPTPrompt returns the first human turn of a ShareGPT record, or the
// record itself if it is a string or a {"prompt": string} object.
func shareGPTPrompt(raw json.RawMessage) (string, bool) {
	if !utf8.Valid(raw) {
		return "", false
	}
	if s, ok := rawString(raw); ok {
		return s, true
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return "", false
	}
	if s, ok := rawString(obj["prompt"]); ok {
		return s, true
	}
	conv, ok := obj["conversations"]
	if !ok {
		conv = obj["messages"]
	}
	var turns []json.RawMessage
	if json.Unmarshal(conv, &turns) != nil {
		return "", false
	}
	for _, t := range turns {
		var turn shareGPTTurn
		if json.Unmarshal(t, &turn) != nil {
			continue
		}
		switch {
		case turn.From != nil && (*turn.From == "human" || *turn.From == "user") && turn.Value != nil:
			return *turn.Value, true
		case turn.Role != nil && *turn.Role == "user" && turn.Content != nil:
			return *turn.Content, true
		}
	}
	return "", false
}
