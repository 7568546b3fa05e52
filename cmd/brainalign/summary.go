package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/atomicfile"
)

// inputInfo describes an input file in a summary.
type inputInfo struct {
	Path   string `json:"path"`
	Member string `json:"member,omitempty"`
	Shape  []int  `json:"shape"`
	DType  string `json:"dtype"`
	// Parts are the files of brain data joined along targets (hemispheres), in order.
	Parts []inputInfo `json:"parts,omitempty"`
}

func infoOf(in *input) inputInfo {
	return inputInfo{Path: in.path, Member: in.member, Shape: in.shape, DType: in.dtype, Parts: in.parts}
}

// modelInfo is the model part of a summary: what was fitted, and how.
type modelInfo struct {
	engine.OptionsSummary
	FoldScheme string `json:"fold_scheme"`
}

func modelInfoOf(opts engine.Options, scheme string) modelInfo {
	return modelInfo{OptionsSummary: opts.Summary(), FoldScheme: scheme}
}

// runInfo is what the engine reported.
type runInfo struct {
	Engine            string             `json:"engine"`
	Rank              []int              `json:"rank"`
	DroppedDirections []int              `json:"dropped_directions"`
	DegeneratePairs   int                `json:"degenerate_fold_target_pairs"`
	DegenerateTargets int                `json:"degenerate_targets"`
	Batches           int                `json:"target_batches_per_fold"`
	Flops             float64            `json:"flops"`
	GFlopsPerSecond   float64            `json:"gflops_per_second"`
	Seconds           map[string]float64 `json:"seconds"`
	Score             scoreStats         `json:"score"`
}

type scoreStats struct {
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
	Min    float64 `json:"min"`
}

func statsOf(v []float64) scoreStats {
	if len(v) == 0 {
		return scoreStats{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return scoreStats{Mean: sum / float64(len(s)), Median: med, Max: s[len(s)-1], Min: s[0]}
}

func runInfoOf(res *engine.Result) runInfo {
	t := res.Timings
	sec := map[string]float64{
		"transfer": t.Transfer.Seconds(), "decompose": t.Decompose.Seconds(), "products": t.Products.Seconds(),
		"select": t.Select.Seconds(), "refit": t.Refit.Seconds(), "score": t.Score.Seconds(), "total": t.Total.Seconds(),
	}
	if t.Overlapped > 0 {
		sec["decompose_overlapped"] = t.Overlapped.Seconds()
	}
	ri := runInfo{Engine: res.Engine, Rank: res.Rank, DroppedDirections: res.Dropped, DegeneratePairs: res.Degenerate,
		DegenerateTargets: res.DegenerateTargets, Batches: res.Batches, Flops: res.Flops, Seconds: sec, Score: statsOf(res.Scores)}
	if t.Total > 0 {
		ri.GFlopsPerSecond = res.Flops / t.Total.Seconds() / 1e9
	}
	return ri
}

// writeJSON writes v as indented JSON, atomically.
func writeJSON(path string, v any) error {
	b, err := jsonBytes(v)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return atomicfile.WriteBytes(path, b)
}

// jsonBytes is v as the JSON files hold it: indented, a line.
func jsonBytes(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func nowUTC() string { return time.Now().UTC().Format(time.RFC3339) }
