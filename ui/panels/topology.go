package panels

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/ui/common"
)

// Topology draws the lab's network namespaces as boxes holding their
// interfaces and addresses, with veth pairs as lines between neighbouring
// boxes and bridge membership as "⇢ br0". Pairs whose ends are not side by
// side are listed under the boxes.
type Topology struct {
	st        *common.Styles
	w, h      int
	nss       []Netns
	unread    int  // namespaces of the lab not read (see Snapshot.TopologyHidden)
	page      int  // which boxes, when they do not all fit
	linkLocal bool // show fe80:: addresses too
}

// NewTopology returns an empty topology panel.
func NewTopology(st *common.Styles) Topology { return Topology{st: st} }

// SetStyles changes the theme.
func (m *Topology) SetStyles(st *common.Styles) { m.st = st }

// SetSize sets the inner size.
func (m *Topology) SetSize(w, h int) { m.w, m.h = w, h }

// SetData takes the namespaces to draw (PairVeths already applied).
func (m *Topology) SetData(s *Snapshot) { m.nss, m.unread = s.Topology, s.TopologyHidden }

// More shows the next page of boxes, when they do not all fit.
func (m *Topology) More() { m.page++ }

// ToggleLinkLocal shows or hides IPv6 link-local (fe80::) addresses, which
// every interface that is up has, and which say little in a lesson.
func (m *Topology) ToggleLinkLocal() { m.linkLocal = !m.linkLocal }

// isLinkLocal reports whether an address (CIDR) is IPv6 link-local.
func isLinkLocal(a string) bool { return strings.HasPrefix(strings.ToLower(a), "fe80:") }

const gapW = 9 // room between two boxes for the veth lines

// canvas is a grid of cells, each with a rune and a style index, so that
// lines can be drawn across boxes and still be painted in runs.
type canvas struct {
	w, h   int
	r      [][]rune
	s      [][]uint8
	styles []lipgloss.Style
}

func newCanvas(w, h int, styles []lipgloss.Style) *canvas {
	c := &canvas{w: w, h: h, styles: styles}
	c.r = make([][]rune, h)
	c.s = make([][]uint8, h)
	for y := range c.r {
		c.r[y] = []rune(strings.Repeat(" ", w))
		c.s[y] = make([]uint8, w)
	}
	return c
}

func (c *canvas) put(x, y int, text string, style uint8) {
	if y < 0 || y >= c.h {
		return
	}
	for _, ch := range text {
		if x >= c.w {
			return
		}
		if x >= 0 {
			c.r[y][x] = ch
			c.s[y][x] = style
		}
		x++
	}
}

func (c *canvas) String() string {
	var b strings.Builder
	for y := 0; y < c.h; y++ {
		if y > 0 {
			b.WriteByte('\n')
		}
		x := 0
		for x < c.w {
			st := c.s[y][x]
			end := x
			for end < c.w && c.s[y][end] == st {
				end++
			}
			seg := string(c.r[y][x:end])
			if st == 0 {
				b.WriteString(seg)
			} else {
				b.WriteString(c.styles[st].Render(seg))
			}
			x = end
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// box is one namespace laid out: its lines and where each link sits.
type box struct {
	ns    Netns
	lines []string
	w     int
	x, y  int
	row   map[string]int // link name → line index inside the box
}

func (m Topology) layoutBox(ns Netns, hiddenLL *int) box {
	b := box{ns: ns, row: map[string]int{}}
	for _, l := range ns.Links {
		addrs := l.Addrs
		if !m.linkLocal {
			addrs = nil
			for _, a := range l.Addrs {
				if isLinkLocal(a) {
					*hiddenLL++
				} else {
					addrs = append(addrs, a)
				}
			}
		}
		state := common.SymDone
		if !l.Up {
			state = common.SymTodo
		}
		line := state + " " + l.Name
		if l.Type == "bridge" {
			line += " [bridge]"
		}
		if l.Master != "" {
			line += " ⇢" + l.Master
		}
		if len(addrs) > 0 {
			line += " " + strings.Join(addrs, " ")
		}
		b.row[l.Name] = len(b.lines)
		b.lines = append(b.lines, line)
	}
	if len(b.lines) == 0 {
		// The host box lists only the links the lab made there.
		b.lines = []string{"(no interfaces)"}
		if ns.Name == "host" || ns.Name == "lab host" {
			b.lines = []string{"(no lab links)"}
		}
	}
	b.w = ansi.StringWidth(ns.Name) + 4
	for _, l := range b.lines {
		b.w = max(b.w, ansi.StringWidth(l)+4)
	}
	b.w = min(b.w, max(m.w, 16))
	return b
}

// View draws the boxes, wrapping to new rows when the panel is narrow.
// Boxes that do not fit the height are counted ("+3 more"), and m pages
// through them.
func (m Topology) View() string {
	if len(m.nss) == 0 {
		return m.st.Subtle.Render("no network namespace in the lab yet")
	}
	hiddenLL := 0
	all := make([]box, len(m.nss))
	for i, ns := range m.nss {
		all[i] = m.layoutBox(ns, &hiddenLL)
	}
	// Lay out from a start box; stop before a row that would not fit
	// above the legend and the "+N more" line.
	place := func(from int) ([]box, int) {
		var out []box
		x, y, rowH, height := 0, 0, 0, 0
		for _, b := range all[from:] {
			if x > 0 && x+b.w > m.w {
				x, y = 0, y+rowH+1
				rowH = 0
			}
			if m.h > 0 && y+len(b.lines)+2 > m.h-2 {
				break // the last two lines: "+N more" and the legend
			}
			b.x, b.y = x, y
			x += b.w + gapW
			rowH = max(rowH, len(b.lines)+2)
			height = max(height, y+rowH)
			out = append(out, b)
		}
		return out, height
	}
	first, _ := place(0)
	start := 0
	if len(first) > 0 && len(first) < len(all) {
		pages := (len(all) + len(first) - 1) / len(first)
		start = (m.page % pages) * len(first)
	}
	boxes, height := place(start)
	hidden := len(all) - len(boxes)
	// styles: 0 plain, 1 border, 2 title, 3 up, 4 down, 5 line, 6 subtle
	styles := []lipgloss.Style{{}, m.st.Subtle, m.st.Bold, m.st.OK, m.st.Subtle, m.st.Code, m.st.Subtle}
	c := newCanvas(max(m.w, 1), height, styles)
	pos := map[string][3]int{} // "ns/link" → box index, x of edge, y
	for bi, b := range boxes {
		c.put(b.x, b.y, "┌"+strings.Repeat("─", b.w-2)+"┐", 1)
		c.put(b.x+2, b.y, ansi.Truncate(b.ns.Name, b.w-4, "…"), 2)
		for i, l := range b.lines {
			yy := b.y + 1 + i
			c.put(b.x, yy, "│", 1)
			st := uint8(3)
			if strings.HasPrefix(l, common.SymTodo) {
				st = 4
			}
			c.put(b.x+2, yy, ansi.Truncate(l, b.w-4, "…"), 0)
			c.put(b.x+2, yy, string([]rune(l)[0]), st)
			c.put(b.x+b.w-1, yy, "│", 1)
		}
		c.put(b.x, b.y+len(b.lines)+1, "└"+strings.Repeat("─", b.w-2)+"┘", 1)
		for _, l := range b.ns.Links {
			pos[b.ns.Name+"/"+l.Name] = [3]int{bi, b.x, b.y + 1 + b.row[l.Name]}
		}
	}
	// veth lines between neighbours on the same row; the rest are listed.
	var far []string
	done := map[string]bool{}
	lane := map[int]int{} // connectors drawn in the gap after box i
	for bi, b := range boxes {
		for _, l := range b.ns.Links {
			if l.Peer == "" || done[l.Peer] {
				continue
			}
			me := b.ns.Name + "/" + l.Name
			done[me] = true
			p, ok := pos[l.Peer]
			if ok && p[0] == bi+1 && boxes[p[0]].y == b.y && lane[bi] < gapW-2 {
				x0 := b.x + b.w
				mid := x0 + 1 + lane[bi]
				lane[bi]++
				ya, yb := pos[me][2], p[2]
				c.put(x0, ya, strings.Repeat("━", mid-x0), 5)
				c.put(mid, yb, strings.Repeat("━", p[1]-mid), 5)
				switch {
				case ya < yb:
					c.put(mid, ya, "┓", 5)
					for yy := ya + 1; yy < yb; yy++ {
						c.put(mid, yy, "┃", 5)
					}
					c.put(mid, yb, "┗", 5)
				case ya > yb:
					c.put(mid, ya, "┛", 5)
					for yy := yb + 1; yy < ya; yy++ {
						c.put(mid, yy, "┃", 5)
					}
					c.put(mid, yb, "┏", 5)
				}
				continue
			}
			far = append(far, m.st.Code.Render(me+" ━━ "+l.Peer)+m.st.Subtle.Render(" (veth)"))
		}
	}
	out := c.String()
	if len(far) > 0 {
		out += "\n" + strings.Join(far, "\n")
	}
	if hidden+m.unread > 0 {
		var names []string
		for i, b := range all {
			if i < start || i >= start+len(boxes) {
				names = append(names, b.ns.Name)
			}
		}
		more := fmt.Sprintf("+%d more", hidden+m.unread)
		if hidden > 0 {
			more += " · m: next page"
		}
		if len(names) > 0 {
			more += ": " + strings.Join(names, " ")
		}
		if m.unread > 0 {
			more += fmt.Sprintf(" and %d not read", m.unread)
		}
		out += "\n" + m.st.Warn.Render(Fit(more, m.w))
	}
	legend := common.SymDone + " up  " + common.SymTodo + " down  ━ veth pair  ⇢ bridge port"
	switch {
	case hiddenLL > 0:
		legend += fmt.Sprintf(" · %d fe80:: hidden (a)", hiddenLL)
	case m.linkLocal:
		legend += " · fe80:: shown (a)"
	}
	return out + "\n" + m.st.Subtle.Render(legend)
}
