package loadgen

import (
	"encoding/json"
)

// chunkFields is what readStream needs from one event of a stream: the
// parts of an OpenAI-style chunk that decide what the client records.
// Chat chunks carry choices[].delta.content, completion chunks
// choices[].text; only choices[0] is read, as the reference does.
type chunkFields struct {
	// choices: the chunk has a non-empty choices array.
	choices bool
	// content: choices[0] carries non-empty text (its text, or else its
	// delta.content, when not null).
	content bool
	// finishReason is choices[0].finish_reason, decoded; "" when absent,
	// null or empty.
	finishReason string
	// usage and errorValue are the raw JSON values of the usage and error
	// members (the text "null" for a null), nil when absent. Usage is
	// judged by usageJudge; no value in it can fail the chunk.
	usage      []byte
	errorValue []byte
}

// parseChunk fills f from one event's data, or returns the error
// encoding/json gives for it (malformed JSON, or a member of the wrong
// type). Its result is exactly that of decodeChunkJSON, which decodes with
// encoding/json; scanChunk takes a fast path for the chunks engines send
// and leaves everything unusual to decodeChunkJSON (FuzzChunkScanner
// checks the two against each other). Slices in f point into data.
func parseChunk(data []byte, f *chunkFields) error {
	if scanChunk(data, f) {
		return nil
	}
	*f = chunkFields{}
	return decodeChunkJSON(data, f)
}

// streamChunk is the part of a chunk the client reads, for encoding/json.
type streamChunk struct {
	Choices []struct {
		Delta struct {
			Content *string `json:"content"`
		} `json:"delta"`
		Text         *string `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage json.RawMessage `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// decodeChunkJSON fills f with encoding/json: the reference behaviour of
// parseChunk, and its fallback.
func decodeChunkJSON(data []byte, f *chunkFields) error {
	var ch streamChunk
	if err := json.Unmarshal(data, &ch); err != nil {
		return err
	}
	f.choices = len(ch.Choices) > 0
	f.usage, f.errorValue = ch.Usage, ch.Error
	if f.choices {
		c := ch.Choices[0]
		text := c.Delta.Content
		if c.Text != nil {
			text = c.Text
		}
		f.content = text != nil && *text != ""
		if c.FinishReason != nil {
			f.finishReason = *c.FinishReason
		}
	}
	return nil
}

// The scanner below reads the JSON grammar (RFC 8259) as encoding/json
// does, and gives up — reporting false, for encoding/json to decide —
// wherever encoding/json's decoding into streamChunk would not be a plain
// reading of the bytes: a syntax error, a member of the wrong type, a key
// that is a relevant field's name in another spelling (encoding/json
// matches names case-insensitively, with Unicode folding: "Choices",
// "choiceſ"), any key with an escape or a non-ASCII byte, a relevant member
// given twice (encoding/json merges or replaces), a finish_reason that
// needs decoding (escapes, non-ASCII bytes), or nesting deeper than
// maxScanDepth. Whether a string is empty needs no decoding: every escape
// and every byte decodes to at least one byte.

// maxScanDepth bounds the nesting the scanner follows; deeper documents go
// to encoding/json (whose own limit is 10000).
const maxScanDepth = 64

// jsonScanner reads one JSON document in b from i.
type jsonScanner struct {
	b []byte
	i int
}

// scanChunk is parseChunk's fast path: it reports whether it filled f.
// On false, f holds nothing meaningful.
func scanChunk(data []byte, f *chunkFields) bool {
	*f = chunkFields{}
	s := jsonScanner{b: data}
	s.ws()
	if !s.consume('{') {
		return false
	}
	var seenChoices, seenUsage, seenError bool
	ok := s.members(func(key []byte) bool {
		switch string(key) {
		case "choices":
			if seenChoices {
				return false
			}
			seenChoices = true
			return s.choices(f)
		case "usage":
			if seenUsage {
				return false
			}
			seenUsage = true
			start := s.i
			if !s.skipValue() {
				return false
			}
			f.usage = s.b[start:s.i]
			return true
		case "error":
			if seenError {
				return false
			}
			seenError = true
			start := s.i
			if !s.skipValue() {
				return false
			}
			f.errorValue = s.b[start:s.i]
			return true
		}
		if nameLike(key, "choices") || nameLike(key, "usage") || nameLike(key, "error") {
			return false
		}
		return s.skipValue()
	})
	if !ok {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// choices reads the value of "choices": null or an array of choice
// objects (or nulls), recording choices[0].
func (s *jsonScanner) choices(f *chunkFields) bool {
	if s.literal("null") {
		return true
	}
	if !s.consume('[') {
		return false
	}
	s.ws()
	if s.consume(']') {
		return true
	}
	for n := 0; ; n++ {
		s.ws()
		if !s.choice(f, n == 0) {
			return false
		}
		s.ws()
		if s.consume(']') {
			f.choices = true
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

// choice reads one element of choices: null or an object whose delta,
// text and finish_reason have the types streamChunk gives them. first
// records it in f.
func (s *jsonScanner) choice(f *chunkFields, first bool) bool {
	if s.literal("null") {
		return true
	}
	if !s.consume('{') {
		return false
	}
	var seenDelta, seenText, seenFinish bool
	var text, content, hasText bool
	ok := s.members(func(key []byte) bool {
		switch string(key) {
		case "delta":
			if seenDelta {
				return false
			}
			seenDelta = true
			return s.delta(&content)
		case "text":
			if seenText {
				return false
			}
			seenText = true
			if s.literal("null") {
				return true
			}
			n, _, ok := s.str()
			hasText, text = true, n > 0
			return ok
		case "finish_reason":
			if seenFinish {
				return false
			}
			seenFinish = true
			if s.literal("null") {
				return true
			}
			start := s.i + 1
			n, plain, ok := s.str()
			if !ok || first && !plain {
				return false // decoding it is encoding/json's job
			}
			if first && n > 0 {
				f.finishReason = string(s.b[start : start+n])
			}
			return true
		}
		if nameLike(key, "delta") || nameLike(key, "text") || nameLike(key, "finish_reason") {
			return false
		}
		return s.skipValue()
	})
	if !ok {
		return false
	}
	if first {
		if hasText {
			f.content = text
		} else {
			f.content = content
		}
	}
	return true
}

// delta reads the value of "delta": null or an object whose content is a
// string or null; nonEmpty is whether content is a non-empty string.
func (s *jsonScanner) delta(nonEmpty *bool) bool {
	if s.literal("null") {
		return true
	}
	if !s.consume('{') {
		return false
	}
	seen := false
	return s.members(func(key []byte) bool {
		if string(key) == "content" {
			if seen {
				return false
			}
			seen = true
			if s.literal("null") {
				return true
			}
			n, _, ok := s.str()
			*nonEmpty = n > 0
			return ok
		}
		if nameLike(key, "content") {
			return false
		}
		return s.skipValue()
	})
}

// members reads the members of an object whose '{' has been consumed, up
// to and including its '}', calling value with each key (which must be
// plain ASCII without escapes) once the scanner is at the value; value
// reads the value and reports whether to go on.
func (s *jsonScanner) members(value func(key []byte) bool) bool {
	s.ws()
	if s.consume('}') {
		return true
	}
	for {
		s.ws()
		start := s.i + 1
		n, plain, ok := s.str()
		if !ok || !plain {
			return false
		}
		key := s.b[start : start+n]
		s.ws()
		if !s.consume(':') {
			return false
		}
		s.ws()
		if !value(key) {
			return false
		}
		s.ws()
		if s.consume('}') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

// nameLike reports whether key could name field in encoding/json without
// being its exact spelling: equal to it ignoring ASCII case, and, as a
// margin for decoders that also ignore them, '_' and '-'. Non-ASCII keys
// never reach it.
func nameLike(key []byte, field string) bool {
	if len(key) > 0 && key[0] != '_' && key[0] != '-' && lower(key[0]) != field[0] {
		return false // the usual case, decided at once
	}
	i, j := 0, 0
	for {
		for i < len(key) && (key[i] == '_' || key[i] == '-') {
			i++
		}
		for j < len(field) && field[j] == '_' {
			j++
		}
		if i == len(key) || j == len(field) {
			return i == len(key) && j == len(field)
		}
		if lower(key[i]) != field[j] {
			return false
		}
		i++
		j++
	}
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ws skips JSON whitespace.
func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips c if it is next.
func (s *jsonScanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// literal skips lit (true, false or null) if it is next.
func (s *jsonScanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// str reads a string at s.i (its opening quote) and returns the length of
// its raw contents between the quotes and whether they are plain: no
// escape and only ASCII, so that the raw bytes are the decoded string.
// Invalid UTF-8 is accepted, as encoding/json accepts it.
func (s *jsonScanner) str() (n int, plain, ok bool) {
	if !s.consume('"') {
		return 0, false, false
	}
	start := s.i
	plain = true
	for s.i < len(s.b) {
		for s.i < len(s.b) && !strSpecial(s.b[s.i]) { // the common bytes, fast
			s.i++
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			n = s.i - start
			s.i++
			return n, plain, true
		case c == '\\':
			plain = false
			s.i++
			if s.i >= len(s.b) {
				return 0, false, false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(s.b)-s.i < 5 {
					return 0, false, false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return 0, false, false
					}
				}
				s.i += 5
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		default: // c >= 0x80
			plain = false
			s.i++
		}
	}
	return 0, false, false
}

// strSpecial reports whether str must look at c: the quote, the
// backslash, a control character (invalid in a string) or a non-ASCII
// byte.
func strSpecial(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number() bool {
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.consume('.') && !s.digits() {
		return false
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits skips one or more digits; it reports false when there is none.
func (s *jsonScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// skipValue skips one JSON value at s.i, checking its syntax, without
// recursion: open containers are a bit stack (1 for an object), at most
// maxScanDepth deep.
func (s *jsonScanner) skipValue() bool {
	var stack uint64
	depth := 0
	for {
		// A value.
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch c := s.b[s.i]; {
		case c == '{' || c == '[':
			if depth == maxScanDepth {
				return false
			}
			s.i++
			stack <<= 1
			if c == '{' {
				stack |= 1
			}
			depth++
			s.ws()
			if s.consume(c + 2) { // '}' is '{'+2, ']' is '['+2
				stack >>= 1
				depth--
				break
			}
			if c == '{' && !s.key() {
				return false
			}
			continue // to the container's first value
		case c == '"':
			if _, _, ok := s.str(); !ok {
				return false
			}
		case c == 't':
			if !s.literal("true") {
				return false
			}
		case c == 'f':
			if !s.literal("false") {
				return false
			}
		case c == 'n':
			if !s.literal("null") {
				return false
			}
		default:
			if !s.number() {
				return false
			}
		}
		// After a value: close containers, or go on to the next value.
		for {
			if depth == 0 {
				return true
			}
			s.ws()
			obj := stack&1 == 1
			if s.consume(',') {
				if obj && !s.key() {
					return false
				}
				break
			}
			if obj && s.consume('}') || !obj && s.consume(']') {
				stack >>= 1
				depth--
				continue
			}
			return false
		}
	}
}

// key reads an object key and its colon.
func (s *jsonScanner) key() bool {
	s.ws()
	if _, _, ok := s.str(); !ok {
		return false
	}
	s.ws()
	return s.consume(':')
}

// usageCounts is the part of a usage object usageJudge reads: the raw
// values of its counts, nil when absent.
type usageCounts struct {
	PromptTokens     json.RawMessage `json:"prompt_tokens"`
	CompletionTokens json.RawMessage `json:"completion_tokens"`
}

// parseUsage reads the counts of a usage object, or returns the error
// encoding/json gives for it; as parseChunk, it takes a fast path
// (scanUsage) and leaves anything unusual to encoding/json.
func parseUsage(raw []byte, u *usageCounts) error {
	if scanUsage(raw, u) {
		return nil
	}
	*u = usageCounts{}
	return json.Unmarshal(raw, u)
}

// scanUsage is parseUsage's fast path, by the rules of scanChunk.
func scanUsage(raw []byte, u *usageCounts) bool {
	*u = usageCounts{}
	s := jsonScanner{b: raw}
	s.ws()
	if !s.consume('{') {
		return false
	}
	ok := s.members(func(key []byte) bool {
		var dst *json.RawMessage
		switch string(key) {
		case "prompt_tokens":
			dst = &u.PromptTokens
		case "completion_tokens":
			dst = &u.CompletionTokens
		default:
			if nameLike(key, "prompt_tokens") || nameLike(key, "completion_tokens") {
				return false
			}
			return s.skipValue()
		}
		if *dst != nil {
			return false // twice
		}
		start := s.i
		if !s.skipValue() {
			return false
		}
		*dst = s.b[start:s.i]
		return true
	})
	if !ok {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}
