package probe_test

import (
	"testing"

	"github.com/nslab/nslab/internal/labtest"
)

func TestMain(m *testing.M) { labtest.Main(m) }
