package textsafe

import (
	"encoding/json"
	"testing"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ name, in, want, wantLines string }{
		{"plain", "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B"},
		{"unicode kept", "Qwen/Qwen2.5 — 7B µs", "Qwen/Qwen2.5 — 7B µs", "Qwen/Qwen2.5 — 7B µs"},
		{"backslash kept", `C:\keys\cosign.key`, `C:\keys\cosign.key`, `C:\keys\cosign.key`},
		{"hidden text", "m\x1b[8mhidden", `m\x1b[8mhidden`, `m\x1b[8mhidden`},
		{"forged line", "m\n  trust:  trusted", `m\n  trust:  trusted`, "m\n  trust:  trusted"},
		{"carriage return", "ok\rFAIL", `ok\rFAIL`, `ok\rFAIL`},
		{"tab and del", "a\tb\x7f", `a\tb\x7f`, `a\tb\x7f`},
		{"C1 CSI", "a\u009b31mb", `a\u009b31mb`, `a\u009b31mb`},
		{"bidi override", "abc\u202etxt.exe", `abc\u202etxt.exe`, `abc\u202etxt.exe`},
		{"isolate", "a\u2066b", `a\u2066b`, `a\u2066b`},
		{"zero width", "al\u200bice", `al\u200bice`, `al\u200bice`},
		{"line separator", "a\u2028b", `a\u2028b`, `a\u2028b`},
		{"invalid utf-8", "a\xffb", `a\xffb`, `a\xffb`},
		{"nul", "a\x00b", `a\x00b`, `a\x00b`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Escape(tc.in); got != tc.want {
				t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := EscapeLines(tc.in); got != tc.wantLines {
				t.Errorf("EscapeLines(%q) = %q, want %q", tc.in, got, tc.wantLines)
			}
		})
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x1b[8mb\nc", "\u202e", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Escape(s), EscapeLines(s)} {
			for _, r := range out {
				if (r < 0x20 && r != '\n') || r == 0x7f || unsafeRune(r) {
					t.Fatalf("escaped %q still holds %U: %q", s, r, out)
				}
			}
		}
		for _, r := range Escape(s) {
			if r == '\n' {
				t.Fatalf("Escape(%q) holds a line feed", s)
			}
		}
	})
}

func TestJSON(t *testing.T) {
	in := []byte("{\"model\":\"abc\u202etxt \u0085 \u2066x\u2069 ok\"}\n")
	got := JSON(in)
	want := "{\"model\":\"abc\\u202etxt \\u0085 \\u2066x\\u2069 ok\"}\n"
	if string(got) != want {
		t.Fatalf("JSON(%q) = %q, want %q", in, got, want)
	}
	var a, b map[string]string
	if err := json.Unmarshal(in, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &b); err != nil || a["model"] != b["model"] {
		t.Errorf("the escaped JSON decodes to %q (%v), want %q", b["model"], err, a["model"])
	}
	plain := []byte(`{"a":"b"}`)
	if got := JSON(plain); &got[0] != &plain[0] {
		t.Error("clean input was copied")
	}
}
