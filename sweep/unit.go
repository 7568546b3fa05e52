package sweep

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
)

// Source is where a layer's activations come from: a file (and member), or a function that
// builds them in memory (the synthetic study).
type Source struct {
	Path   string // .npy, .npz, .safetensors or HDF5 file
	Member string // array name inside a bundle; "" for a .npy file
	// Func, when set, builds the activations instead of reading Path.
	Func func() (engine.Matrix, error)

	info *arrayInfo // shape and dtype as found by Discover; nil when not read
}

// String names the source in errors and records.
func (s Source) String() string {
	switch {
	case s.Func != nil && s.Path == "":
		return "(in memory)"
	case s.Member != "":
		return s.Path + ":" + s.Member
	}
	return s.Path
}

// Checkpoint is one model state: its layers in order of depth.
type Checkpoint struct {
	Name    string
	Step    float64 // training step; meaningful only when HasStep
	HasStep bool
	Layers  []Source // one per layer, in the plan's layer order
}

// Plan is everything one sweep scores: the checkpoints of one model, each with the same layers.
type Plan struct {
	Model       string
	Layers      []string // layer names, shallow to deep
	Checkpoints []Checkpoint
	Explicit    bool // the layer order was given (a manifest's rows, OrderLayers), not taken from names
	// Skipped lists the bundle members Discover passed over because they are not arrays (a
	// meta.json or README.txt stored in an .npz, macOS metadata) or not arrays it can read
	// (strings, Python objects), one line each naming the file and member and saying why: a
	// caller may warn about them.
	Skipped []string
}

// Unit is one activation matrix of the plan.
type Unit struct {
	Index      int // position in the plan, (checkpoint, layer) order
	Checkpoint int
	Layer      int
}

// Units lists the plan's units in (checkpoint, layer) order.
func (p *Plan) Units() []Unit {
	var us []Unit
	for c := range p.Checkpoints {
		for l := range p.Layers {
			us = append(us, Unit{Index: len(us), Checkpoint: c, Layer: l})
		}
	}
	return us
}

// HasSteps reports whether every checkpoint has a training step.
func (p *Plan) HasSteps() bool {
	for _, c := range p.Checkpoints {
		if !c.HasStep {
			return false
		}
	}
	return len(p.Checkpoints) > 0
}

// Validate checks the plan's shape: at least 2 layers, the same layers in every checkpoint,
// distinct names, increasing steps.
func (p *Plan) Validate(where string) error { return p.validate(where, 2) }

// validate is Validate with at least minLayers layers: 2 for a sweep, 1 for a command that reads
// chosen layers (DiscoverLayers).
func (p *Plan) validate(where string, minLayers int) error {
	if len(p.Checkpoints) == 0 {
		return fmt.Errorf("%s: no checkpoints found", where)
	}
	if len(p.Layers) < minLayers {
		return fmt.Errorf("%s: too few layers: %d found (%s); a layer sweep needs at least 2", where, len(p.Layers), strings.Join(p.Layers, ", "))
	}
	seen := map[string]bool{}
	for _, l := range p.Layers {
		if seen[l] {
			return fmt.Errorf("%s: two layers named %q", where, l)
		}
		seen[l] = true
	}
	seen = map[string]bool{}
	for i, c := range p.Checkpoints {
		if seen[c.Name] {
			return fmt.Errorf("%s: two checkpoints named %q", where, c.Name)
		}
		seen[c.Name] = true
		if len(c.Layers) != len(p.Layers) {
			return fmt.Errorf("%s: checkpoint %q has %d layers, the others %d", where, c.Name, len(c.Layers), len(p.Layers))
		}
		if c.HasStep && (c.Step < 0 || math.IsNaN(c.Step) || math.IsInf(c.Step, 0)) {
			return fmt.Errorf("%s: checkpoint %q has step %v, want a finite step >= 0", where, c.Name, c.Step)
		}
		if i > 0 && c.HasStep && p.Checkpoints[i-1].HasStep && !(c.Step > p.Checkpoints[i-1].Step) {
			return fmt.Errorf("%s: checkpoint %q (step %v) does not come after %q (step %v): steps must increase",
				where, c.Name, c.Step, p.Checkpoints[i-1].Name, p.Checkpoints[i-1].Step)
		}
	}
	return nil
}

// StepsError is an error of SetSteps about the steps given (their number, a step that is not
// finite and >= 0, steps that do not increase), as against an error of the plan itself, which
// SetSteps also reports. A plan whose checkpoints' names give steps that tie or do not increase
// (Discover's error) is set right by steps without a StepsError.
type StepsError struct{ msg string }

func (e *StepsError) Error() string { return e.msg }

// SetSteps assigns training steps, one per checkpoint in order, replacing steps from names. The
// steps are checked first, on their own, and a problem with them is a *StepsError; then the plan
// is validated with them.
func (p *Plan) SetSteps(steps []float64) error {
	if len(steps) != len(p.Checkpoints) {
		return &StepsError{fmt.Sprintf("%d steps given for %d checkpoints (%s)", len(steps), len(p.Checkpoints), p.checkpointNames())}
	}
	for i, s := range steps {
		if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return &StepsError{fmt.Sprintf("step %v for checkpoint %q: want a finite step >= 0", s, p.Checkpoints[i].Name)}
		}
		if i > 0 && !(s > steps[i-1]) {
			return &StepsError{fmt.Sprintf("step %v for checkpoint %q does not come after step %v for %q: steps must increase, one per checkpoint in order (%s)",
				s, p.Checkpoints[i].Name, steps[i-1], p.Checkpoints[i-1].Name, p.checkpointNames())}
		}
	}
	for i := range p.Checkpoints {
		p.Checkpoints[i].Step, p.Checkpoints[i].HasStep = steps[i], true
	}
	return p.Validate("steps")
}

func (p *Plan) checkpointNames() string {
	var n []string
	for _, c := range p.Checkpoints {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}

var (
	lastInt = regexp.MustCompile(`(\d+)\D*$`)
	// "step" and "iter" anywhere ("ckptStep500", "global_step1000"); "it" only starting a word
	// (not "vit16", "split2", "unit3", "init0")
	namedStep = regexp.MustCompile(`(?i)(?:steps?|iter(?:ation)?|(?:^|[^a-z])it)[-_=]?(\d+)`)
)

// nameNumber returns a checkpoint's training step from its name: the number after "step" (or
// "iter", "it"; the last such) when there is one ("step1000_seed0", "epoch3-step500"), else the
// last integer ("ckpt-0100000", "checkpoint-5000").
func nameNumber(s string) (float64, bool) {
	var m []string
	if all := namedStep.FindAllStringSubmatch(s, -1); len(all) > 0 {
		m = all[len(all)-1]
	} else if m = lastInt.FindStringSubmatch(s); m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// namedStepOnly is nameNumber for a name that is the model's rather than a checkpoint's (a lone
// bundle or folder of layers): a step only after a step keyword ("ckpt_step5000"), never a
// number of the architecture's name ("vit_b16", "resnet50").
func namedStepOnly(s string) (float64, bool) {
	all := namedStep.FindAllStringSubmatch(s, -1)
	if len(all) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(all[len(all)-1][1], 64)
	return v, err == nil
}

// holdsArrays reports whether dir holds an .npy file or a bundle (not looking further down).
func holdsArrays(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return true // unreadable: let the caller report it
	}
	for _, e := range ents {
		if !e.IsDir() && (isNPY(e.Name()) || isArrayBundle(e.Name())) {
			return true
		}
	}
	return false
}

// isSweepOutput reports whether dir is a sweep's output folder (its units or merged tables).
func isSweepOutput(dir string) bool {
	for _, marker := range []string{"sweep.json", "units"} {
		if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
			return true
		}
	}
	return false
}

// naturalLess orders names naturally: names are split into runs of digits and runs of other
// characters and compared run by run, digit runs by their value and other runs as strings, so
// that "blocks.2.mlp.fc2" < "blocks.10.mlp.fc2" and "layer2" < "layer10" (every number in a
// name counts, not only the last). Names holding a number come before names without one (conv1,
// layer1 .. layer4 before avgpool, fc), and names that still tie (they differ only in leading
// zeros: "layer02", "layer2") are ordered as strings, so the order is total and deterministic.
func naturalLess(a, b string) bool {
	da, db := hasDigit(a), hasDigit(b)
	if da != db {
		return da
	}
	if c := naturalCompare(a, b); c != 0 {
		return c < 0
	}
	return a < b
}

func hasDigit(s string) bool { return strings.IndexFunc(s, isDigit) >= 0 }

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// naturalCompare compares a and b run by run (see naturalLess); 0 when they differ at most in
// the leading zeros of their numbers.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		ra, rb := run(a), run(b)
		a, b = a[len(ra):], b[len(rb):]
		if isDigit(rune(ra[0])) && isDigit(rune(rb[0])) {
			// Compare values without parsing, so that numbers of any length compare exactly.
			na, nb := strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if len(na) != len(nb) {
				return cmpInt(len(na), len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		// Text against text, or text against a number: as strings. A text run never starts
		// with a digit, so it falls wholly before or after every number.
		if c := strings.Compare(ra, rb); c != 0 {
			return c
		}
	}
	return cmpInt(len(a), len(b)) // a name that is a prefix of the other comes first
}

// run returns the leading run of s: its digits, or its characters up to the first digit.
func run(s string) string {
	d := isDigit(rune(s[0]))
	for i := 1; i < len(s); i++ {
		if isDigit(rune(s[i])) != d {
			return s[:i]
		}
	}
	return s
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func isBundle(p string) bool { return isArrayBundle(p) || isHDF5Bundle(p) }

// isArrayBundle reports whether p is an .npz or .safetensors file: files of arrays only.
func isArrayBundle(p string) bool {
	e := strings.ToLower(filepath.Ext(p))
	return e == ".npz" || e == ".safetensors"
}

// isHDF5Bundle reports whether p is an HDF5 or MATLAB (v7.3: HDF5) file: files that hold other
// things too (a Keras model's weights.h5, a stimulus list .mat), so that in a folder they are
// bundles of layers only where the folder holds no other arrays (no .npy layers, .npz or
// .safetensors bundles, or checkpoint folders).
func isHDF5Bundle(p string) bool {
	return array.IsHDF5(p) || array.IsMAT(p)
}

func isNPY(p string) bool { return strings.ToLower(filepath.Ext(p)) == ".npy" }

// isArrayFile reports whether p names, by its extension, a file of arrays that is no text: a
// steps file of another kind is read as text, one step per line.
func isArrayFile(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".npy", ".npz", ".safetensors", ".mat":
		return true
	}
	return array.IsHDF5(p)
}

func stem(p string) string { return strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)) }

// Discover finds the checkpoints and layers of one model under path (see the package
// documentation for the layouts). model names the model in records and tables; "" uses the base
// name of path.
func Discover(path, model string) (*Plan, error) { return discover(path, model, 2) }

// DiscoverLayers finds the checkpoints and layers under path as Discover does, for a command
// that reads chosen layers of a model by name rather than sweeping them all (predict
// --best-layer): one layer is enough, and a lone .npy file is a layer named after it.
func DiscoverLayers(path string) (*Plan, error) { return discover(path, "", 1) }

// discover is Discover, the plan needing at least minLayers layers.
func discover(path, model string, minLayers int) (*Plan, error) {
	if model == "" {
		model = stem(filepath.Clean(path))
		if strings.EqualFold(filepath.Base(path), "manifest.csv") { // DIR/manifest.csv: the model DIR
			if abs, err := filepath.Abs(path); err == nil {
				model = filepath.Base(filepath.Dir(abs))
			}
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	var cks []Checkpoint
	var layers [][]string
	var skipped []string
	switch {
	case !st.IsDir() && isBundle(path):
		names, info, skip, err := bundleLayers(path)
		if err != nil {
			return nil, err
		}
		cks, layers, skipped = []Checkpoint{bundleCheckpoint(stem(path), path, names, info)}, [][]string{names}, skip
	case !st.IsDir() && strings.EqualFold(filepath.Ext(path), ".csv"):
		return readManifest(path, model, minLayers) // the manifest itself, as well as its folder
	case !st.IsDir() && isNPY(path) && minLayers <= 1:
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		c, l := npyCheckpoint(filepath.Base(filepath.Dir(abs)), []string{path}) // as in its folder
		cks, layers = []Checkpoint{c}, [][]string{l}
	case !st.IsDir() && isNPY(path):
		return nil, fmt.Errorf("%s: too few layers: a single .npy file is one layer; a sweep needs a folder of layers, or a bundle of them (.npz, .safetensors, HDF5)", path)
	case !st.IsDir():
		return nil, fmt.Errorf("%s: not a folder, bundle (.npz, .safetensors, HDF5 .h5/.hdf5, MATLAB v7.3 .mat) or manifest .csv file", path)
	default:
		if _, err := os.Stat(filepath.Join(path, "manifest.csv")); err == nil {
			return readManifest(filepath.Join(path, "manifest.csv"), model, minLayers)
		}
		cks, layers, skipped, err = discoverDir(path)
		if err != nil {
			return nil, err
		}
	}
	if len(cks) == 1 {
		// A lone checkpoint is usually named after the model ("resnet50", "vit_b16"): a step
		// only after a step keyword.
		cks[0].Step, cks[0].HasStep = namedStepOnly(cks[0].Name)
	}
	p := &Plan{Model: model, Skipped: skipped}
	if err := p.setCheckpoints(path, cks, layers); err != nil {
		return nil, err
	}
	return p, p.validate(path, minLayers)
}

// setCheckpoints orders the checkpoints and checks that they share the first one's layers.
func (p *Plan) setCheckpoints(where string, cks []Checkpoint, layers [][]string) error {
	idx := make([]int, len(cks))
	for i := range idx {
		idx[i] = i
	}
	allSteps := len(cks) > 0
	for _, c := range cks {
		allSteps = allSteps && c.HasStep
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ca, cb := cks[idx[a]], cks[idx[b]]
		if allSteps && ca.Step != cb.Step {
			return ca.Step < cb.Step
		}
		return naturalLess(ca.Name, cb.Name)
	})
	for _, i := range idx {
		c := cks[i]
		if len(p.Checkpoints) == 0 {
			p.Layers = layers[i]
		} else if !slices.Equal(layers[i], p.Layers) {
			return fmt.Errorf("%s: checkpoint %q has layers [%s], checkpoint %q has [%s]: every checkpoint needs the same layers",
				where, c.Name, strings.Join(layers[i], ", "), p.Checkpoints[0].Name, strings.Join(p.Layers, ", "))
		}
		p.Checkpoints = append(p.Checkpoints, c)
	}
	return nil
}

// bundleLayers lists the float arrays of an .npz or .safetensors file, in layer order, with
// their shapes and dtypes, from the arrays' headers: no array is read (or decompressed) here.
// Integer and bool arrays (ids, labels) are not layers; members that are not arrays at all, and
// arrays of a dtype package array does not read (strings, Python objects: image names, class
// labels), are skipped and returned as notes. An array whose header cannot be read otherwise
// (a corrupt member) is a layer whose error comes when it is scored, so that a sweep of the
// other layers (--layers) is not stopped by it.
func bundleLayers(path string) (names []string, info map[string]*arrayInfo, skipped []string, err error) {
	f, err := array.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	for _, o := range f.NotArrays() {
		skipped = append(skipped, o.Err.Error())
	}
	info = map[string]*arrayInfo{}
	for _, e := range f.Arrays() {
		if errors.Is(e.Err, array.ErrUnsupportedDType) {
			skipped = append(skipped, e.Err.Error()) // strings, objects: names, labels
			continue
		}
		if e.Err != nil {
			names = append(names, e.Name) // read, and reported, when it is scored
			continue
		}
		if !e.Floats() {
			continue // ids, labels: not a layer
		}
		if len(e.Shape) != 2 {
			return nil, nil, nil, fmt.Errorf("%s:%s: features must be 2-d (images x features), got shape %v; pool or flatten other axes first", path, e.Name, e.Shape)
		}
		names = append(names, e.Name)
		info[e.Name] = &arrayInfo{shape: slices.Clone(e.Shape), dtype: e.DType}
	}
	sort.SliceStable(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
	return names, info, skipped, nil
}

func bundleCheckpoint(name, path string, layers []string, info map[string]*arrayInfo) Checkpoint {
	c := Checkpoint{Name: name}
	c.Step, c.HasStep = nameNumber(name)
	for _, l := range layers {
		c.Layers = append(c.Layers, Source{Path: path, Member: l, info: info[l]})
	}
	return c
}

func npyCheckpoint(name string, files []string) (Checkpoint, []string) {
	sort.SliceStable(files, func(i, j int) bool { return naturalLess(stem(files[i]), stem(files[j])) })
	c := Checkpoint{Name: name}
	c.Step, c.HasStep = nameNumber(name)
	var layers []string
	for _, f := range files {
		layers = append(layers, stem(f))
		c.Layers = append(c.Layers, Source{Path: f})
	}
	return c, layers
}

// discoverDir handles the folder layouts. skipped lists the bundles' members that are not arrays.
func discoverDir(dir string) (cks []Checkpoint, layers [][]string, skipped []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %v", dir, errors.Unwrap(err))
	}
	var npys, bundles, hdf5s, subdirs []string
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			// a checkpoint folder linked in (from scratch, another run's folder) is one
			st, err := os.Stat(p)
			isDir = err == nil && st.IsDir()
		}
		switch {
		case isDir && (isSweepOutput(p) || !holdsArrays(p)):
			// a sweep's own --out inside the activations folder (even one left empty by a run
			// that stopped early), logs, configs: not checkpoints
		case isDir:
			subdirs = append(subdirs, p)
		case isNPY(p):
			npys = append(npys, p)
		case isArrayBundle(p):
			bundles = append(bundles, p)
		case isHDF5Bundle(p):
			hdf5s = append(hdf5s, p)
		}
	}
	if len(npys) == 0 && len(bundles) == 0 && len(subdirs) == 0 {
		bundles = hdf5s // checkpoints as HDF5 files; beside other arrays they are other things
	}
	switch {
	case len(npys) > 0 && (len(bundles) > 0 || len(subdirs) > 0):
		return nil, nil, nil, fmt.Errorf("%s: mixes layer files (.npy) with checkpoints (%d folders, %d bundles); put each checkpoint's layers in its own folder", dir, len(subdirs), len(bundles))
	case len(npys) > 0:
		c, l := npyCheckpoint(filepath.Base(filepath.Clean(dir)), npys)
		return []Checkpoint{c}, [][]string{l}, nil, nil
	}
	for _, b := range bundles {
		names, info, skip, err := bundleLayers(b)
		if err != nil {
			return nil, nil, nil, err
		}
		skipped = append(skipped, skip...)
		cks = append(cks, bundleCheckpoint(stem(b), b, names, info))
		layers = append(layers, names)
	}
	for _, sd := range subdirs {
		sub, err := os.ReadDir(sd)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %v", sd, errors.Unwrap(err))
		}
		var snpy, sbundle []string
		for _, e := range sub {
			p := filepath.Join(sd, e.Name())
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if isNPY(p) {
				snpy = append(snpy, p)
			} else if isArrayBundle(p) {
				sbundle = append(sbundle, p)
			}
		}
		switch {
		case len(snpy) > 0 && len(sbundle) > 0:
			return nil, nil, nil, fmt.Errorf("%s: holds both .npy layers and bundles; a checkpoint folder holds one or the other", sd)
		case len(snpy) > 0:
			c, l := npyCheckpoint(filepath.Base(sd), snpy)
			cks, layers = append(cks, c), append(layers, l)
		case len(sbundle) == 1:
			names, info, skip, err := bundleLayers(sbundle[0])
			if err != nil {
				return nil, nil, nil, err
			}
			skipped = append(skipped, skip...)
			cks = append(cks, bundleCheckpoint(filepath.Base(sd), sbundle[0], names, info))
			layers = append(layers, names)
		case len(sbundle) > 1:
			return nil, nil, nil, fmt.Errorf("%s: %d bundles in one checkpoint folder; want one .npz/.safetensors or .npy files", sd, len(sbundle))
		}
		// Folders without arrays (logs, configs) are not checkpoints.
	}
	if len(cks) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: no activations found (.npy layers, checkpoint folders, .npz, .safetensors, HDF5 or MATLAB v7.3 files, or manifest.csv)", dir)
	}
	return cks, layers, skipped, nil
}

// readManifest reads manifest.csv: header checkpoint,step,layer,path[,member]; rows in any order;
// relative paths are relative to the manifest's folder; an empty step is unknown. The plan needs
// at least minLayers layers.
func readManifest(path, model string, minLayers int) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" { // Excel's "CSV UTF-8"
		br.Discard(3)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the header: %v", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, need := range []string{"checkpoint", "layer", "path"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s: header lacks a %q column (want checkpoint,step,layer,path[,member])", path, need)
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	type entry struct {
		layer string
		src   Source
	}
	byCk := map[string][]entry{}
	steps := map[string]string{}
	var order []string
	base := filepath.Dir(path)
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %v", path, line, err)
		}
		ck, ly, p := get(rec, "checkpoint"), get(rec, "layer"), get(rec, "path")
		if ly == "" || p == "" {
			return nil, fmt.Errorf("%s: line %d: empty layer or path", path, line)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		if _, ok := byCk[ck]; !ok {
			order = append(order, ck)
		}
		if s, ok := steps[ck]; ok && s != get(rec, "step") {
			return nil, fmt.Errorf("%s: line %d: checkpoint %q has steps %q and %q", path, line, ck, s, get(rec, "step"))
		}
		steps[ck] = get(rec, "step")
		byCk[ck] = append(byCk[ck], entry{ly, Source{Path: p, Member: get(rec, "member")}})
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	// Layers in the order of their first rows: a manifest says the order it means.
	rank := map[string]int{}
	for _, name := range order {
		for _, e := range byCk[name] {
			if _, ok := rank[e.layer]; !ok {
				rank[e.layer] = len(rank)
			}
		}
	}
	var cks []Checkpoint
	var layers [][]string
	for _, name := range order {
		es := byCk[name]
		sort.SliceStable(es, func(i, j int) bool { return rank[es[i].layer] < rank[es[j].layer] })
		c := Checkpoint{Name: name}
		if name == "" {
			c.Name = "final"
		}
		if s := steps[name]; s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: checkpoint %q: step %q is not a number", path, name, s)
			}
			c.Step, c.HasStep = v, true
		}
		var ls []string
		for _, e := range es {
			ls = append(ls, e.layer)
			c.Layers = append(c.Layers, e.src)
		}
		cks, layers = append(cks, c), append(layers, ls)
	}
	p := &Plan{Model: model, Explicit: true}
	if err := p.setCheckpoints(path, cks, layers); err != nil {
		return nil, err
	}
	return p, p.validate(path, minLayers)
}

// OrderLayers keeps exactly the named layers, in the order given (shallow to deep): the
// discovered order is by name, which cannot know where unnumbered layers (patch_embed, norm,
// head) belong, and a sweep may want a subset.
func (p *Plan) OrderLayers(names []string) error {
	at := map[string]int{}
	for i, l := range p.Layers {
		at[l] = i
	}
	seen := map[string]bool{}
	idx := make([]int, 0, len(names))
	for _, n := range names {
		i, ok := at[n]
		if !ok {
			return fmt.Errorf("layer %q is not among the layers found (%s)", n, strings.Join(p.Layers, ", "))
		}
		if seen[n] {
			return fmt.Errorf("layer %q is listed twice", n)
		}
		seen[n] = true
		idx = append(idx, i)
	}
	layers := make([]string, len(idx))
	for k, i := range idx {
		layers[k] = p.Layers[i]
	}
	for c := range p.Checkpoints {
		srcs := make([]Source, len(idx))
		for k, i := range idx {
			srcs[k] = p.Checkpoints[c].Layers[i]
		}
		p.Checkpoints[c].Layers = srcs
	}
	p.Layers = layers
	p.Explicit = true
	return p.Validate("the layers chosen")
}

// OrderDoubt returns the groups of layer names whose relative order name order decides, when
// there is more than one and no manifest or OrderLayers gave the order: names are grouped by
// their text before the first number ("blocks.*" for blocks.0.attn ... blocks.11.mlp; a name
// without a number is its own group). Within a group numbers order the layers; between groups
// only the text does, which is rarely depth (patch_embed, blocks.*, norm, head; VGG's
// features.* and classifier.*), so a caller warns and suggests an explicit order.
func (p *Plan) OrderDoubt() []string {
	if p.Explicit {
		return nil
	}
	var groups []string
	seen := map[string]bool{}
	for _, l := range p.Layers {
		g := l
		if i := strings.IndexAny(l, "0123456789"); i >= 0 {
			g = l[:i] + "*"
		}
		if !seen[g] {
			seen[g] = true
			groups = append(groups, g)
		}
	}
	if len(groups) < 2 {
		return nil
	}
	return groups
}

// ParseLayers parses a layer list: comma-separated names, or a file of one name per line.
func ParseLayers(s string) ([]string, error) {
	var out []string
	if _, err := os.Stat(s); err == nil {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, err
		}
		b = bytes.TrimPrefix(b, []byte("\ufeff")) // a UTF-8 byte-order mark
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				out = append(out, line)
			}
		}
	} else {
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("layers: %q names no layer", s)
	}
	return out, nil
}

// ParseSteps parses training steps: a comma-separated list, or a file (an array: .npy, .npz,
// .safetensors, HDF5, MATLAB .mat; or text with one step per line).
func ParseSteps(s string) ([]float64, error) {
	if _, err := os.Stat(s); err == nil {
		if isArrayFile(s) {
			return readFloats(s)
		}
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, err
		}
		b = bytes.TrimPrefix(b, []byte("\ufeff")) // a UTF-8 byte-order mark
		var out []float64
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			v, err := strconv.ParseFloat(line, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: %q is not a step", s, i+1, line)
			}
			out = append(out, v)
		}
		return out, nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("steps: %q is neither a file nor a number list (e.g. 1000,10000,100000)", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// ModelPlan is the plan of an in-memory model (e.g. a synthetic one): checkpoints named
// ckpt-<step> (or "final"), layers from names, activations built on demand by act.
func ModelPlan(model string, layers []string, steps []float64, act func(ckpt, layer int) engine.Matrix) *Plan {
	p := &Plan{Model: model, Layers: append([]string(nil), layers...)}
	nc := max(1, len(steps))
	for c := 0; c < nc; c++ {
		ck := Checkpoint{Name: "final"}
		if len(steps) > 0 {
			ck = Checkpoint{Name: fmt.Sprintf("ckpt-%09.0f", steps[c]), Step: steps[c], HasStep: true}
		}
		for l := range layers {
			ck.Layers = append(ck.Layers, Source{Func: func() (engine.Matrix, error) { return act(c, l), nil }})
		}
		p.Checkpoints = append(p.Checkpoints, ck)
	}
	return p
}
