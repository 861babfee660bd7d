package main

import (
	"flag"
	"fmt"
	"runtime/debug"
	"strings"
)

// commandDocs are each command's synopsis and what it does, for its
// --help and `bench help <command>`.
var commandDocs = map[string]struct{ synopsis, about string }{
	"verify": {
		"bench verify <envelope.json> [--key PATH]... [--identity ID | --identity-regexp RE --issuer URL] [--trusted-root PATH]",
		"Check an envelope's signature and whether its signer is trusted. One verdict on the first line:\n" +
			"OK on stdout, or FAIL on stderr. Exit 0 intact (and trusted when a key or identity is given),\n" +
			"1 failed or untrusted, 2 unreadable input.",
	},
	"keygen": {
		"bench keygen <path>",
		"Write a new ed25519 dev signing key pair: <path> (private, mode 0600) and its .pub\n" +
			"(cosign.key gets cosign.pub). Never overwrites; exit 1 if either exists.",
	},
	"profile": {
		"bench profile <envelope.json> --base-url URL [flags]",
		"Re-run the envelope's benchmark against a live OpenAI-compatible engine while sampling GPU\n" +
			"(NVML) and CPU/DRAM (RAPL) telemetry, print the source next to the profile, and write a new\n" +
			"signed envelope profile-<hash12>.json with its per-request trace, timeline and HTML view.\n" +
			"--sweep 1,4,16 (concurrencies), --rps-sweep 1,2,4 or --sweep source (the suite's own points)\n" +
			"run each point with its own envelope (profile-c16-<hash12>.json) and write a summary: a table,\n" +
			"its JSON and an HTML page of the curves (latency and J/token vs throughput, power vs load).\n" +
			"--find-peak --slo ttft_p99=500ms finds the highest load that holds the SLO by bracketing and\n" +
			"bisection, in at most --max-probes short probes, each with its own envelope.\n" +
			"Exit 0 ok; 1 refused or failed (ok_rate below 0.5 still writes the envelope; a sweep point that\n" +
			"failed; a search where no probe held); 2 usage; 130/143 stopped by SIGINT/SIGTERM (nothing\n" +
			"signed for the interrupted point, finished points and partial files kept).",
	},
	"run": {
		"bench run --suite ID --model NAME --engine KIND --base-url URL [flags]",
		"Run a bundled suite from nothing against a live OpenAI-compatible engine — no envelope\n" +
			"needed — with the same telemetry as profile, and write a signed envelope <hash12>.json\n" +
			"(./results by default; c16-<hash12>.json per point with --sweep) that bench verify and\n" +
			"bench profile accept. The point is the suite's first unless --concurrency or --rps says;\n" +
			"--sweep, --rps-sweep and --find-peak work as for profile. Exit codes as profile's.",
	},
	"demo": {
		"bench demo [--output DIR] [--duration D]",
		"Profile a bundled real H100 envelope (examples/bench/demodata/), trusted under the key its\n" +
			"publisher published, against a built-in fake engine on 127.0.0.1, with an ephemeral dev key.",
	},
}

// commandHelp renders the help of the command fs parses: its synopsis,
// what it does, and its flags as --name ARG with their defaults.
func commandHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	doc := commandDocs[fs.Name()]
	fmt.Fprintf(&b, "usage: %s\n\n", orElse(doc.synopsis, "bench "+fs.Name()))
	if doc.about != "" {
		fmt.Fprintf(&b, "%s\n", doc.about)
	}
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			b.WriteString("\nflags:\n")
			first = false
		}
		arg, text := flag.UnquoteUsage(f)
		if arg == "value" {
			arg = "VALUE"
		}
		name := "--" + f.Name
		if arg != "" {
			name += " " + strings.ToUpper(arg)
		}
		if def := f.DefValue; def != "" && def != "0" && def != "false" && def != "[]" && !strings.Contains(text, "default") {
			text += " (default " + def + ")"
		}
		fmt.Fprintf(&b, "  %s\n      %s\n", name, text)
	})
	return b.String()
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// version describes the running binary from its build information.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "bench (no build information)"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(12, len(s.Value))]
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	out := "bench " + v
	if rev != "" {
		out += " " + rev
		if dirty {
			out += "+dirty"
		}
	}
	return out + " (" + bi.Main.Path + ", " + bi.GoVersion + ")"
}
