package textlist

import (
	"fmt"
	"strings"
)

// Some joins the first n items with ", " and, when there are more, says how many: "a, b, ... 3
// more".
func Some(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(append(items[:n:n], fmt.Sprintf("... %d more", len(items)-n)), ", ")
}
