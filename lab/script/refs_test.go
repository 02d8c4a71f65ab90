package script

import (
	"errors"
	"testing"
)

func TestScopeFindsNamesNothingCreated(t *testing.T) {
	tests := []struct {
		name string
		src  string // the last line is checked after the others
		col  int    // 0: no error
		want string
	}{
		{"a namespace made earlier is known", "netns add alpha\nlink set lo up -n alpha", 0, ""},
		{"a typo in -n suggests the namespace", "netns add alpha\nlink set lo up -n alhpa", 19, "unknown namespace `alhpa`: nothing before this line creates it (`netns add alhpa`, or `spawn alhpa`): did you mean `alpha`?"},
		{"the host is always known", "link set lo up -n host", 0, ""},
		{"a spawned child is a namespace too", "spawn c1 net\nlink add v type veth peer eth0 netns c1", 33, ""},
		{"a veth peer's namespace is checked", "netns add alpha\nlink add v type veth peer eth0 netns beta", 38, "unknown namespace `beta`"},
		{"kill needs a child", "spawn web net\nkill wbe", 6, "did you mean `web`?"},
		{"self and PIDs are processes", "expect threads self <= 9\nexpect rss 1 <= 1GB", 0, ""},
		{"close needs a socket", "listen tcp 127.0.0.1:80 as web\nclose webb", 7, "unknown socket `webb`"},
		{"expect netns exists makes it known (hands-on)", "expect netns blue exists within 60s\nlink set lo up -n blue", 0, ""},
		{"expect ns net takes a namespace or a process", "netns add blue\nexpect ns net blue != self", 0, ""},
		{"expect ns uts takes processes only", "netns add blue\nexpect ns uts blue != self", 15, "unknown process `blue`"},
		{"a proxy is a process", "proxy start px route {tenant}/tcp/127.0.0.1:1={tenant}/tcp/10.0.0.1:2\nexpect threads px <= 10", 0, ""},
		{"proxy tenants are namespaces", "netns add alpha\nproxy add px alpha", 11, "unknown process `px`"},
		{"a tenant list is checked word by word", "proxy start px route {tenant}/tcp/127.0.0.1:1={tenant}/tcp/10.0.0.1:2\nnetns add a1\nproxy add px a1,a2", 17, "unknown namespace `a2`"},
		{"a range makes every name", "netns add t{1..3}\nlink set lo up -n t3", 0, ""},
		{"past a range's end is unknown", "netns add t{1..3}\nlink set lo up -n t4", 19, "unknown namespace `t4`"},
		{"a route's named namespace is checked", "proxy start px route host/tcp/127.0.0.1:1=back/tcp/10.0.0.1:2", 43, "unknown namespace `back`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stmts, err := Parse("s.lab", 1, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			sc := NewScope()
			var errs []error
			for _, st := range stmts {
				errs = sc.Check(st)
			}
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected: %v", errors.Join(errs...))
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one saying %q", errs, tt.want)
			}
			wantSyntaxError(t, errs[0], "s.lab", len(stmts), tt.col, tt.want)
		})
	}
}
