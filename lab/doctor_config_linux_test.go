package lab

import "testing"

func TestKernelConfigValues(t *testing.T) {
	config := "CONFIG_NF_CT_PROTO_SCTP=y\n# CONFIG_IP_SCTP is not set\nCONFIG_VETH=m\nCONFIG_BRIDGE=y\n"
	for _, tt := range []struct{ option, want string }{
		{"CONFIG_IP_SCTP", "n"},     // "is not set": not built
		{"CONFIG_VETH", "m"},        // a module
		{"CONFIG_BRIDGE", "y"},      // built in
		{"CONFIG_NO_SUCH", "n"},     // absent: its dependencies were not met
		{"CONFIG_NF_CT_PROTO", "n"}, // a prefix of another option is not that option
	} {
		if got := configValue(config, tt.option); got != tt.want {
			t.Errorf("configValue(%s) = %q, want %q", tt.option, got, tt.want)
		}
	}
}
