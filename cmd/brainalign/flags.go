package main

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
)

const catModel = "Model"
const catRun = "Run"

// modelFlags are the options of the encoding model, shared by encode, sweep and bench.
func modelFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "alphas", Value: "logspace:0:8:9", Category: catModel, EnvVars: []string{"BRAINALIGN_ALPHAS"},
			Usage: "penalty grid: a list `1,10,100` or logspace:LO:HI:NUM (ties go to the first)"},
		&cli.IntFlag{Name: "folds", Value: 5, Category: catModel, EnvVars: []string{"BRAINALIGN_FOLDS"},
			Usage: "outer folds: contiguous, unshuffled blocks as scikit-learn's KFold"},
		&cli.Int64Flag{Name: "shuffle-seed", Value: -1, Category: catModel,
			Usage: "shuffle rows into folds as scikit-learn's KFold(shuffle=True, random_state=`SEED`) does (0 to 4294967295; -1: no shuffle)"},
		&cli.StringFlag{Name: "groups", Category: catModel,
			Usage: "`GROUPS.npy`: one integer group per row: rows of a group stay in one fold (GroupKFold)"},
		&cli.StringFlag{Name: "inner", Value: "loo", Category: catModel, EnvVars: []string{"BRAINALIGN_INNER"},
			Usage: "penalty selection inside each training fold: loo (exact leave-one-out), gcv, kfold:K[:r2|pearson]"},
		&cli.BoolFlag{Name: "shared-alpha", Category: catModel,
			Usage: "one penalty for all targets (RidgeCV without alpha_per_target)"},
		&cli.BoolFlag{Name: "no-intercept", Category: catModel,
			Usage: "fit without an intercept (data not centred)"},
		&cli.StringFlag{Name: "precision", Value: "float32", Category: catRun, EnvVars: []string{"BRAINALIGN_PRECISION"},
			Usage: "arithmetic of the large products: float32, float64, or tf32 (cuda only)"},
		&cli.StringFlag{Name: "device", Value: defaultDevice, Category: catRun, EnvVars: []string{"BRAINALIGN_DEVICE"},
			Usage: "engine: cpu, or cuda[:N] in a cuda build"},
		&cli.StringFlag{Name: "memory", Category: catRun, EnvVars: []string{"BRAINALIGN_MEMORY"},
			Usage: "cap on the engine's working memory, e.g. 8GiB or 500MB (default: half of available)"},
	}
}

// modelOptions builds engine options for n rows from the flags.
func modelOptions(c *cli.Context, n int) (engine.Options, error) {
	var opts engine.Options
	var err error
	if opts.Alphas, err = engine.ParseAlphas(c.String("alphas")); err != nil {
		return opts, usageError("--alphas %q: %v", c.String("alphas"), err)
	}
	if opts.Inner, err = engine.ParseInner(c.String("inner")); err != nil {
		return opts, usageError("--inner %q: %v", c.String("inner"), err)
	}
	if opts.Precision, err = engine.ParsePrecision(c.String("precision")); err != nil {
		return opts, usageError("--precision %q: %v", c.String("precision"), err)
	}
	if opts.MemoryLimit, err = parseBytes(c.String("memory")); err != nil {
		return opts, usageError("--memory: %v", err)
	}
	boundHeap(opts.MemoryLimit)
	opts.SharedAlpha = c.Bool("shared-alpha")
	opts.NoIntercept = c.Bool("no-intercept")
	k := c.Int("folds")
	switch {
	case c.String("groups") != "" && c.Int64("shuffle-seed") >= 0:
		return opts, usageError("--groups and --shuffle-seed exclude each other (GroupKFold does not shuffle)")
	case c.String("groups") != "":
		groups, err := readGroups(c.String("groups"), n)
		if err != nil {
			return opts, err
		}
		opts.Folds, err = engine.GroupKFold(groups, k)
		if err != nil {
			return opts, fmt.Errorf("%s: %v", c.String("groups"), err)
		}
	case c.Int64("shuffle-seed") >= 0:
		seed := c.Int64("shuffle-seed")
		if seed > math.MaxUint32 {
			return opts, usageError("--shuffle-seed %d: numpy's seeds stop at 4294967295", seed)
		}
		opts.Folds, err = engine.ShuffledKFold(n, k, uint32(seed))
	default:
		opts.Folds, err = engine.KFold(n, k)
	}
	if err != nil {
		return opts, err
	}
	return opts, opts.Validate(n)
}

// readGroups reads one integer group label per row.
func readGroups(path string, n int) ([]int, error) {
	arrs, err := array.Read(path)
	if err != nil {
		return nil, err
	}
	defer array.CloseAll(arrs)
	if len(arrs) != 1 || arrs[0].I64 == nil || len(arrs[0].Shape) != 1 {
		return nil, fmt.Errorf("%s: want one 1-d integer array of group labels", path)
	}
	if len(arrs[0].I64) != n {
		return nil, fmt.Errorf("%s: %d group labels for %d rows", path, len(arrs[0].I64), n)
	}
	g := make([]int, n)
	for i, v := range arrs[0].I64 {
		g[i] = int(v)
	}
	return g, nil
}

// parseBytes parses sizes like 8GiB, 500MB, 1e9 ("" is 0: the engine's default).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive size (e.g. 8GiB)", s)
	}
	return int64(v * mult), nil
}

// openEngine makes the engine named by --device.
func openEngine(c *cli.Context) (engine.Engine, error) {
	e, err := engine.New(c.String("device"))
	if err != nil {
		return nil, usageError("--device: %v", err)
	}
	return e, nil
}

// stderrIsTerminal reports whether progress output makes sense.
func stderrIsTerminal(c *cli.Context) bool {
	f, ok := c.App.ErrWriter.(*os.File)
	return ok && isTerminal(f)
}

// boundHeap turns --memory into a soft limit for Go's garbage collector as well (unless
// GOMEMLIMIT is set): the engine sizes its buffers to the cap, and without this the collector
// would let short-lived garbage grow the heap to about twice what is live. The slack covers the
// results and the runtime; memory-mapped input files are not heap and are not counted.
func boundHeap(limit int64) {
	if limit <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(limit + limit/4 + 64<<20)
}
