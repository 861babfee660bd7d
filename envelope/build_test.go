package envelope

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestNewRunID(t *testing.T) {
	ts := time.Date(2026, 6, 13, 5, 32, 17, 687700000, time.UTC)
	id, err := NewRunID(ts, bytes.NewReader(bytes.Repeat([]byte{0xFF}, 10)))
	if err != nil {
		t.Fatal(err)
	}
	// ms 1781328737687 = 0x019ebf777597; all random bits set, version and variant forced.
	if want := "019ebf77-7597-7fff-bfff-ffffffffffff"; id != want {
		t.Errorf("NewRunID = %s; want %s", id, want)
	}
	if _, err := NewRunID(ts, bytes.NewReader(nil)); err == nil {
		t.Error("NewRunID with an empty random source succeeded")
	}
}

func ExampleBuild() {
	template, err := Load("testdata/dev-key-vector.signed.json")
	if err != nil {
		panic(err)
	}
	template.Metrics = NewObject(Member{"ttft_p50_ms", Float(42)})
	template.HardwareFingerprint.CPU.Model = "  Example CPU  " // stripped, as the reference would
	now := func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 123456789, time.FixedZone("", 3600)) }
	e, err := Build(template, WithNow(now), WithRandom(bytes.NewReader(make([]byte, 10))))
	if err != nil {
		panic(err)
	}
	fmt.Println(e.RunID)
	fmt.Println(FormatTimestamp(e.Timestamp))
	fmt.Printf("%q\n", e.HardwareFingerprint.CPU.Model)
	fmt.Println(e.Signature == nil)
	// Output:
	// 01a21ca9-7ffb-7000-8000-000000000000
	// 2026-11-27T11:00:00.123456Z
	// "Example CPU"
	// true
}

func TestBuildSignWriteReload(t *testing.T) {
	template := loadEnvelope(t, "testdata/dev-key-vector.signed.json")
	e, err := Build(template)
	if err != nil {
		t.Fatal(err)
	}
	if e.RunID[14] != '7' {
		t.Errorf("run_id %s is not version 7", e.RunID)
	}
	if d := time.Since(e.Timestamp); d < 0 || d > time.Minute {
		t.Errorf("timestamp %v is not now", e.Timestamp)
	}
	if ms := strings.ReplaceAll(e.RunID, "-", "")[:12]; ms != fmtHex(e.Timestamp.UnixMilli()) {
		t.Errorf("run_id ms field %s does not match the timestamp %d", ms, e.Timestamp.UnixMilli())
	}
	s, err := LoadDevSigner("testdata/dev-key-vector.key")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := Sign(context.Background(), e, s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, err := Write(dir, "profile", signed)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := signed.ContentHash()
	if want := dir + "/profile-" + h[:12] + ".json"; path != want {
		t.Errorf("Write path = %s; want %s", path, want)
	}
	back := loadEnvelope(t, path)
	if r, err := Verify(context.Background(), back); err != nil || !r.OK {
		t.Fatalf("reloaded envelope does not verify: %+v %v", r, err)
	}
	// Writing the same envelope again is a no-op; a different one with the
	// same name is refused.
	if _, err := Write(dir, "profile", signed); err != nil {
		t.Fatalf("idempotent Write: %v", err)
	}
}

func fmtHex(ms int64) string { return fmt.Sprintf("%012x", ms) }
