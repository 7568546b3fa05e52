package kernels

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed *.ptx
var files embed.FS

// Module names: one per .cu source.
const (
	ColStats = "colstats" // col_stats_*, col_scale, gather_center_*
	LOO      = "loo"      // loo_weights, loo_update_*, loo_hot_*, gcv_select_*
	Pearson  = "pearson"  // pearson_*
	Scale    = "scale"    // scale_cols_*, scale_refit_*, square_f64, convert_f64_f32, fill_f64, split_tf32, join_f32
	KFold    = "kfold"    // r2_*, kfold_accumulate, argmin_penalty
)

// Entries lists the kernels each module must define (the cuda engine looks these up by name).
var Entries = map[string][]string{
	ColStats: {"col_stats_f32", "col_stats_f64", "col_scale",
		"gather_center_f32_f32", "gather_center_f64_f64", "gather_center_f64_f32", "gather_center_f32_f64"},
	LOO:     {"loo_weights", "loo_update_f32", "loo_update_f64", "loo_hot_f32", "loo_hot_f64", "gcv_select_f32", "gcv_select_f64"},
	Pearson: {"pearson_f32", "pearson_f64"},
	Scale: {"scale_cols_f32", "scale_cols_f64", "scale_cols_tf32", "scale_refit_f32", "scale_refit_f64",
		"square_f64", "convert_f64_f32", "fill_f64", "split_tf32", "join_f32"},
	KFold: {"r2_f32", "r2_f64", "kfold_accumulate", "argmin_penalty"},
}

// PTX returns the PTX text of a module (e.g. PTX(kernels.LOO)).
func PTX(module string) (string, error) {
	b, err := files.ReadFile(module + ".ptx")
	if err != nil {
		return "", fmt.Errorf("kernels: no module %q (have %s)", module, strings.Join(Modules(), ", "))
	}
	return string(b), nil
}

// Modules lists the embedded modules.
func Modules() []string {
	ents, _ := files.ReadDir(".")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".ptx"))
	}
	sort.Strings(out)
	return out
}
