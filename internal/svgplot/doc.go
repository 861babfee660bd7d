// Package svgplot holds the few helpers the module's self-contained HTML
// pages (report/timeline, report/sweep) share to draw inline SVG charts:
// axis steps and ticks, tick labels, coordinates, and escaping text for
// HTML and SVG.
package svgplot
