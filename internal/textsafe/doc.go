// Package textsafe makes untrusted text safe to show on a terminal.
//
// Envelope strings (model ids, engine names, warnings) and engine responses
// (error bodies, SSE data) are claims from a peer. Printed raw, a control
// character in them can rewrite what a person sees: ESC starts a terminal
// escape sequence (hide text, move the cursor, retitle the window), CR and
// LF forge whole lines such as a fake "trust: trusted", and Unicode
// bidirectional overrides reorder what is displayed. Every table, message
// and error that shows such text passes it through [Escape] (one line) or
// [EscapeLines] (text whose own line breaks are kept).
package textsafe
