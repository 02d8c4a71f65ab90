// Package prose renders a lesson's Markdown narration for a terminal:
// headings, paragraphs wrapped to a width, emphasis, inline code, links,
// lists, block quotes, tables, rules and code blocks, with Go highlighted
// through go/scanner.
//
// It is small on purpose. Every process of the nslab binary (each spawned
// lesson child and proxy worker included) runs the package init of
// everything linked into it; a general renderer (glamour with goldmark,
// chroma, bluemonday) allocated 6 MB and took 30–100 ms there before any
// child reached its own code. This package has no package-level state to
// build: it allocates only when it renders.
//
// It reads the CommonMark that lesson authors write, not all of it: no
// HTML (shown as it is), no reference links, no setext headings inside
// lists. Anything it does not know reads as the plain text it is.
package prose
