package ui

import (
	"context"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/panels"
)

// holdersMsg carries what keeps each of the lab's namespaces alive.
type holdersMsg struct {
	list []NamespaceHolders
	at   time.Time
}

// HoldersView is the overlay that answers "why won't it die?": for each
// of the lab's namespaces, every holder (processes, threads, bind mounts,
// descriptors, sockets born in it), refreshed with the panels.
type HoldersView struct {
	c        *common.Common
	list     []NamespaceHolders
	at       time.Time
	inflight bool
	scroll   int
}

// fetch asks the lab in a command; one at a time.
func (m *HoldersView) fetch(lab Lab) tea.Cmd {
	if m.inflight || lab == nil {
		return nil
	}
	m.inflight = true
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return holdersMsg{list: lab.Holders(ctx), at: time.Now()}
	}
}

func (m *HoldersView) set(msg holdersMsg) {
	m.inflight = false
	m.list, m.at = msg.list, msg.at
}

// lines is the view's content.
func (m HoldersView) lines() []string {
	st := m.c.Styles
	if m.at.IsZero() {
		return []string{st.Subtle.Render("reading /proc…")}
	}
	if len(m.list) == 0 {
		return []string{st.Subtle.Render("the lab has no namespace yet: `netns add NAME` (or spawn a child with net) makes one")}
	}
	var out []string
	for _, h := range m.list {
		if h.Err != nil {
			out = append(out, st.Bold.Render(h.Name)+" "+st.Fail.Render(h.Err.Error()))
			continue
		}
		out = append(out, st.Bold.Render(h.Name)+" "+st.Text.Render(h.Summary))
		for _, l := range h.Lines {
			style := st.Subtle
			if strings.HasPrefix(strings.TrimSpace(l), "socket") {
				style = st.Warn // the holder lsns cannot see
			}
			out = append(out, style.Render(l))
		}
		out = append(out, "")
	}
	return out
}

// View draws the overlay, w x h.
func (m HoldersView) View(w, h int) string {
	st := m.c.Styles
	lines := m.lines()
	head := st.Bold.Render("who holds the lab's namespaces") + st.Subtle.Render("   (read again each second; esc, F6 or H closes; ↑↓ scroll)")
	inner := h - 3
	scroll := min(m.scroll, max(len(lines)-inner, 0))
	shown := lines[scroll:min(scroll+inner, len(lines))]
	body := head + "\n" + strings.Join(shown, "\n")
	return panels.Frame(st.Overlay, st.Title, "holders", body, w, h)
}
