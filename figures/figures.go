package figures

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/brainalign/brainalign/stats"
)

// Size of every figure.
var (
	Width  = 7 * vg.Inch
	Height = 4.5 * vg.Inch
)

// DPI of the PNG files.
const DPI = 110

var (
	blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	grey   = color.RGBA{R: 120, G: 120, B: 120, A: 255}
	red    = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = 13
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = 12
		a.Tick.Label.Font.Size = 10
	}
	p.Legend.TextStyle.Font.Size = 10
	p.Add(plotter.NewGrid())
	return p
}

// save renders c (drawn by draw) to w as PNG.
func save(w io.Writer, drawFn func(dc draw.Canvas)) error { return saveHeight(w, Height, drawFn) }

// saveHeight is save for a figure of another height.
func saveHeight(w io.Writer, height vg.Length, drawFn func(dc draw.Canvas)) error {
	img := vgimg.NewWith(vgimg.UseWH(Width, height), vgimg.UseDPI(DPI))
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	drawFn(dc)
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func savePlot(w io.Writer, p *plot.Plot) error {
	return save(w, func(dc draw.Canvas) { p.Draw(dc) })
}

// recovered turns a panic while drawing (the plotting library's, on data it cannot place) into
// the figure's error: a figure illustrates numbers written beside it, and must not take the
// process, and with it those numbers, down.
func recovered(fig string, err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("figures: %s: drawing failed: %v", fig, p)
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// grid is a layers x times table as a plotter.GridXYZ (columns are times, rows layers).
type grid struct {
	z     []float64
	times []float64
	rows  int
}

func (g grid) Dims() (int, int)   { return len(g.times), g.rows }
func (g grid) Z(c, r int) float64 { return g.z[r*len(g.times)+c] }
func (g grid) X(c int) float64    { return g.times[c] }
func (g grid) Y(r int) float64    { return float64(r) }

// layerTicks labels layer rows by name (every k-th when there are many).
type layerTicks []string

func (lt layerTicks) Ticks(min, max float64) []plot.Tick {
	step := 1 + len(lt)/12
	var t []plot.Tick
	for i, n := range lt {
		label := ""
		if i%step == 0 || i == len(lt)-1 {
			label = n
		}
		t = append(t, plot.Tick{Value: float64(i), Label: label})
	}
	return t
}

// LayerTime draws the MEG score R_l(t) (curves: layers x len(times), row-major) as a heatmap,
// layers bottom (shallow) to top (deep), with each layer's T_max (tmax, NaN: none) marked.
func LayerTime(w io.Writer, title string, curves []float64, layers []string, times, tmax []float64) (err error) {
	defer recovered("LayerTime", &err)
	L, T := len(layers), len(times)
	if L < 1 || T < 2 || len(curves) != L*T || len(tmax) != L {
		return fmt.Errorf("figures: LayerTime: %d values for %d layers x %d times, %d T_max", len(curves), L, T, len(tmax))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range curves {
		if finite(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	switch {
	case lo > hi: // no finite value: an empty heatmap, not moreland's panic on an infinite range
		lo, hi = 0, 1
	case !(hi > lo):
		hi = lo + 1
	}
	cm := moreland.ExtendedBlackBody()
	cm.SetMin(lo)
	cm.SetMax(hi)
	p := newPlot(title, "time from stimulus onset (s)", "layer")
	hm := plotter.NewHeatMap(grid{curves, times, L}, cm.Palette(255))
	hm.Min, hm.Max = lo, hi
	hm.Rasterized = true
	p.Add(hm)
	p.Y.Tick.Marker = layerTicks(layers)
	var pts plotter.XYs
	for l, v := range tmax {
		if finite(v) {
			pts = append(pts, plotter.XY{X: v, Y: float64(l)})
		}
	}
	if len(pts) > 0 {
		ln, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		ln.Color, ln.Width = color.RGBA{G: 200, B: 255, A: 255}, vg.Points(1.5)
		sc.Shape = draw.CircleGlyph{}
		sc.Color, sc.Radius = color.RGBA{G: 200, B: 255, A: 255}, vg.Points(4)
		p.Add(ln, sc)
		// A legend would sit on the dark heatmap; the axis label says what the dots are.
		p.Title.Text += "\ncyan dots: T_max, the mean time at >= 95% of the layer's peak"
	}
	p.X.Min, p.X.Max = times[0], times[T-1]
	p.Y.Min, p.Y.Max = -0.5, float64(L)-0.5
	bar := plot.New()
	cb := &plotter.ColorBar{ColorMap: cm, Vertical: true}
	bar.Add(cb)
	bar.HideX()
	bar.Y.Padding = 0
	bar.Title.Text = "r"
	bar.Title.TextStyle.Font.Size = 11
	bar.Y.Tick.Label.Font.Size = 10
	barW := 0.9 * vg.Inch
	return save(w, func(dc draw.Canvas) {
		p.Draw(draw.Crop(dc, 0, -barW, 0, 0))
		bar.Draw(draw.Crop(dc, Width-barW+0.25*vg.Inch, 0, 0.55*vg.Inch, -0.3*vg.Inch))
	})
}

// ROIPoint is an ROI's mean position in DepthDistance.
type ROIPoint struct {
	Name            string
	Distance, Depth float64
}

// DepthDistance plots each target's best-layer relative depth against its distance from V1
// (at most 4000 targets shown, chosen evenly; depths jittered vertically by up to a quarter
// layer so that equal depths do not hide each other), the least-squares line of depth on
// distance, ROI means when given, and r and p in the legend.
func DepthDistance(w io.Writer, title string, distance, depth []float64, layers int, r, pval float64, rois []ROIPoint) (err error) {
	defer recovered("DepthDistance", &err)
	if len(distance) != len(depth) || len(distance) < 2 {
		return fmt.Errorf("figures: DepthDistance: %d distances and %d depths", len(distance), len(depth))
	}
	p := newPlot(title, "distance from V1 (mm)", "best layer (relative depth)")
	stride := 1 + len(distance)/4000
	jit := 0.0
	if layers > 1 {
		jit = 0.25 / float64(layers-1)
	}
	var pts plotter.XYs
	for i := 0; i < len(distance); i += stride {
		h := math.Mod(float64(i)*0.6180339887, 1) // deterministic jitter
		pts = append(pts, plotter.XY{X: distance[i], Y: depth[i] + jit*(2*h-1)})
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return err
	}
	sc.Shape = draw.CircleGlyph{}
	sc.Color, sc.Radius = color.NRGBA{R: 31, G: 119, B: 180, A: 110}, vg.Points(2)
	p.Add(sc)
	p.Legend.Add(fmt.Sprintf("targets (%d shown of %d)", len(pts), len(distance)), sc)
	slope, icpt, err := stats.LinearFit(distance, depth)
	if err == nil {
		lo, hi := minMax(distance)
		ln, err := plotter.NewLine(plotter.XYs{{X: lo, Y: icpt + slope*lo}, {X: hi, Y: icpt + slope*hi}})
		if err != nil {
			return err
		}
		ln.Color, ln.Width = red, vg.Points(2)
		p.Add(ln)
		p.Legend.Add(fmt.Sprintf("fit: r = %.2f, p = %.2g", r, pval), ln)
	}
	if len(rois) > 0 {
		var rp plotter.XYs
		var labels []string
		for _, q := range rois {
			rp = append(rp, plotter.XY{X: q.Distance, Y: q.Depth})
			labels = append(labels, q.Name)
		}
		rs, err := plotter.NewScatter(rp)
		if err != nil {
			return err
		}
		rs.Shape = draw.BoxGlyph{}
		rs.Color, rs.Radius = orange, vg.Points(5)
		p.Add(rs)
		p.Legend.Add("ROI means", rs)
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: rp, Labels: labels})
		if err != nil {
			return err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Size = 10
		}
		lb.Offset = vg.Point{X: 6, Y: 4}
		p.Add(lb)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Min, p.Y.Max = -0.1, 1.25
	return savePlot(w, p)
}

func minMax(x []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range x {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return lo, hi
}

// logTicks labels powers of ten as 1e3, 1e4, ...
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0 && max >= min && !math.IsInf(max, 1)) {
		// nothing a log axis can place: and from log10(0) = -Inf the loop below never ends
		return nil
	}
	var t []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		v := math.Pow(10, e)
		if v >= min*0.999 && v <= max*1.001 {
			t = append(t, plot.Tick{Value: v, Label: fmt.Sprintf("1e%.0f", e)})
		}
		for k := 2; k < 10; k++ {
			if mv := float64(k) * v; mv > min && mv < max {
				t = append(t, plot.Tick{Value: mv})
			}
		}
	}
	return t
}

// ErrTooFewPoints says a figure over training steps had fewer than two checkpoints to draw: a
// log axis cannot show step 0, nor a line a single point. Callers skip such a figure.
var ErrTooFewPoints = errors.New("fewer than 2 checkpoints with a positive step and a finite value to draw on a log axis")

// MetricSteps plots a metric against training step (log axis) and marks its half-time: the step
// halfStep (NaN: none) where it reaches half of its final value, labelled with the fraction of
// training.
func MetricSteps(w io.Writer, title, ylabel string, steps, values []float64, halfStep float64) (err error) {
	defer recovered("MetricSteps", &err)
	if len(steps) != len(values) || len(steps) < 2 {
		return fmt.Errorf("figures: MetricSteps: %d steps and %d values", len(steps), len(values))
	}
	var pts plotter.XYs
	for i, s := range steps {
		if s > 0 && finite(values[i]) {
			pts = append(pts, plotter.XY{X: s, Y: values[i]})
		}
	}
	if len(pts) < 2 {
		return fmt.Errorf("figures: MetricSteps: %w", ErrTooFewPoints)
	}
	p := newPlot(title, "training step", ylabel)
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	ln, sc, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	ln.Color, ln.Width = blue, vg.Points(2)
	sc.Shape, sc.Color, sc.Radius = draw.CircleGlyph{}, blue, vg.Points(3.5)
	p.Add(ln, sc)
	p.Legend.Add(ylabel, ln, sc)
	final := values[len(values)-1]
	lo, hi := minMax(append(append([]float64(nil), values...), 0))
	if finite(halfStep) && halfStep > 0 {
		last := steps[len(steps)-1]
		v, err := plotter.NewLine(plotter.XYs{{X: halfStep, Y: lo}, {X: halfStep, Y: hi}})
		if err != nil {
			return err
		}
		v.Color, v.Width, v.Dashes = red, vg.Points(1.5), []vg.Length{vg.Points(5), vg.Points(3)}
		h, err := plotter.NewLine(plotter.XYs{{X: pts[0].X, Y: final / 2}, {X: last, Y: final / 2}})
		if err != nil {
			return err
		}
		h.Color, h.Width, h.Dashes = grey, vg.Points(1), []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(v, h)
		p.Legend.Add(fmt.Sprintf("half-time: step %.3g (%.2g%% of training)", halfStep, 100*halfStep/last), v)
		p.Legend.Add("half of the final value", h)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Max = hi + 0.3*(hi-lo) // room for the legend
	return savePlot(w, p)
}

// ROIBars draws one bar per ROI (NaN values are left out and marked "n/a").
func ROIBars(w io.Writer, title, ylabel string, names []string, values []float64) (err error) {
	defer recovered("ROIBars", &err)
	p, err := roiBarsPlot(title, ylabel, names, values)
	if err != nil {
		return err
	}
	return savePlot(w, p)
}

func roiBarsPlot(title, ylabel string, names []string, values []float64) (*plot.Plot, error) {
	if len(names) != len(values) || len(names) == 0 {
		return nil, fmt.Errorf("figures: ROIBars: %d names and %d values", len(names), len(values))
	}
	vs := make(plotter.Values, len(values))
	labels := make([]string, len(names))
	for i, v := range values {
		labels[i] = names[i]
		if finite(v) {
			vs[i] = v
		} else {
			labels[i] += " (n/a)"
		}
	}
	p := newPlot(title, "", ylabel)
	p.X.Tick.Label.Font.Size = 11
	w := vg.Points(math.Max(8, math.Min(40, 380/float64(len(vs)))))
	b, err := plotter.NewBarChart(vs, w)
	if err != nil {
		return nil, err
	}
	b.Color, b.LineStyle.Width = blue, 0
	p.Add(b)
	p.NominalX(labels...)
	if len(labels) > 8 {
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}
	// the longest bar clears the plot's edge (its top, or its bottom for a negative one), as
	// Ranking's outermost dots do; the axis otherwise ends at the bar's end
	p.X.Min, p.X.Max = p.X.Min-0.5, p.X.Max+0.5 // and the last bar the figure's right edge
	pad := 0.05 * (p.Y.Max - p.Y.Min)
	if p.Y.Max > 0 {
		p.Y.Max += pad
	}
	if p.Y.Min < 0 {
		p.Y.Min -= pad
	}
	return p, nil
}

// ScalingSeries is one group's points and fitted curve for Scaling: CurveLo and CurveHi (the
// bootstrap band) may be nil or NaN.
type ScalingSeries struct {
	Name                            string
	X, Y                            []float64
	CurveX, Curve, CurveLo, CurveHi []float64
}

// palette for several groups (matplotlib's first colours).
var palette = []color.RGBA{blue, orange, {R: 44, G: 160, B: 44, A: 255}, red, {R: 148, G: 103, B: 189, A: 255},
	{R: 140, G: 86, B: 75, A: 255}, {R: 227, G: 119, B: 194, A: 255}, grey, {R: 188, G: 189, B: 34, A: 255}, {R: 23, G: 190, B: 207, A: 255}}

// Scaling plots y against x (log axis) for each group, with its fitted curve and, where given,
// the curve's band; points and curve at an x the log axis cannot show (not positive) are left out.
func Scaling(w io.Writer, title, xlabel, ylabel string, series []ScalingSeries) (err error) {
	defer recovered("Scaling", &err)
	if len(series) == 0 {
		return fmt.Errorf("figures: Scaling: no series")
	}
	p := newPlot(title, xlabel, ylabel)
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	for k, s := range series {
		if len(s.X) != len(s.Y) || len(s.CurveX) != len(s.Curve) || len(s.CurveX) < 2 {
			return fmt.Errorf("figures: Scaling: %s: %d x, %d y, %d curve x, %d curve values", s.Name, len(s.X), len(s.Y), len(s.CurveX), len(s.Curve))
		}
		c := palette[k%len(palette)]
		// the curve where the log axis can show it, as for the points
		var onAxis []int
		for i, x := range s.CurveX {
			if x > 0 && finite(x) {
				onAxis = append(onAxis, i)
			}
		}
		if len(s.CurveLo) == len(s.CurveX) && len(s.CurveHi) == len(s.CurveX) && len(onAxis) > 0 && finite(s.CurveLo[onAxis[0]]) {
			var band plotter.XYs
			for _, i := range onAxis {
				band = append(band, plotter.XY{X: s.CurveX[i], Y: s.CurveHi[i]})
			}
			for _, i := range slices.Backward(onAxis) {
				band = append(band, plotter.XY{X: s.CurveX[i], Y: s.CurveLo[i]})
			}
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return err
			}
			poly.Color, poly.LineStyle.Width = color.NRGBA{R: c.R, G: c.G, B: c.B, A: 60}, 0
			p.Add(poly)
		}
		var pts, curve plotter.XYs
		for i := range s.X {
			if s.X[i] > 0 && finite(s.Y[i]) {
				pts = append(pts, plotter.XY{X: s.X[i], Y: s.Y[i]})
			}
		}
		for _, i := range onAxis {
			curve = append(curve, plotter.XY{X: s.CurveX[i], Y: s.Curve[i]})
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Shape, sc.Color, sc.Radius = draw.CircleGlyph{}, color.NRGBA{R: c.R, G: c.G, B: c.B, A: 170}, vg.Points(2.5)
		ln, err := plotter.NewLine(curve)
		if err != nil {
			return err
		}
		ln.Color, ln.Width = c, vg.Points(2)
		p.Add(sc, ln)
		p.Legend.Add(s.Name, sc, ln)
	}
	p.Y.Min, p.Y.Max = scalingYRange(series, p.Y.Min, p.Y.Max)
	p.Legend.Top, p.Legend.Left = false, false // bottom right: below a rising curve's plateau
	return savePlot(w, p)
}

// scalingYRange returns the y axis of a scaling figure whose plotted data span [min, max]: the
// points and curves, and the bands only up to half that span beyond them. A band that a few
// failed resamples blow up would otherwise squash the data into a sliver (the band is clipped at
// the axis).
func scalingYRange(series []ScalingSeries, min, max float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, vs := range [][]float64{s.Y, s.Curve} {
			for _, v := range vs {
				if finite(v) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
	}
	if !(lo < hi) {
		return min, max
	}
	pad := (hi - lo) / 2
	return math.Max(min, lo-pad), math.Min(max, hi+pad)
}

// ScatterGroup is one coloured group of points for Scatter.
type ScatterGroup struct {
	Name string
	X, Y []float64
}

// Scatter plots groups of points (non-finite ones left out), with the identity line when
// identity is set (for two scores on the same scale).
func Scatter(w io.Writer, title, xlabel, ylabel string, groups []ScatterGroup, identity bool) (err error) {
	defer recovered("Scatter", &err)
	if len(groups) == 0 {
		return fmt.Errorf("figures: Scatter: no groups")
	}
	p := newPlot(title, xlabel, ylabel)
	lo, hi := math.Inf(1), math.Inf(-1)
	for k, g := range groups {
		if len(g.X) != len(g.Y) {
			return fmt.Errorf("figures: Scatter: %s: %d x and %d y", g.Name, len(g.X), len(g.Y))
		}
		var pts plotter.XYs
		for i := range g.X {
			if finite(g.X[i]) && finite(g.Y[i]) {
				pts = append(pts, plotter.XY{X: g.X[i], Y: g.Y[i]})
				lo, hi = math.Min(lo, math.Min(g.X[i], g.Y[i])), math.Max(hi, math.Max(g.X[i], g.Y[i]))
			}
		}
		if len(pts) == 0 {
			continue
		}
		c := palette[k%len(palette)]
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Shape, sc.Color, sc.Radius = draw.CircleGlyph{}, color.NRGBA{R: c.R, G: c.G, B: c.B, A: 190}, vg.Points(3)
		p.Add(sc)
		p.Legend.Add(g.Name, sc)
	}
	if identity && lo < hi {
		ln, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
		if err != nil {
			return err
		}
		ln.Color, ln.Width, ln.Dashes = grey, vg.Points(1), []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(ln)
	}
	p.Legend.Top, p.Legend.Left = true, true
	return savePlot(w, p)
}

// RankingMost is the number of models Ranking draws at most (the first ones).
const RankingMost = 40

// Ranking draws models' scores as horizontal bars, the first model (the best) at the top, each
// with ± its standard error as an error bar (se; NaN: none) and, where given, each subject's
// score as a grey dot (subjects[i] for model i; nil: none); xlabel should say so. Only the first RankingMost models
// are drawn; the figure grows with their number.
func Ranking(w io.Writer, title, xlabel string, names []string, scores, se []float64, subjects [][]float64) (err error) {
	defer recovered("Ranking", &err)
	n := len(names)
	if n == 0 || len(scores) != n || len(se) != n || (subjects != nil && len(subjects) != n) {
		return fmt.Errorf("figures: Ranking: %d names, %d scores, %d standard errors, %d subject lists", n, len(scores), len(se), len(subjects))
	}
	if n > RankingMost {
		title = fmt.Sprintf("%s (the first %d of %d)", title, RankingMost, n)
		n = RankingMost
	}
	// Row i from the top is y = n-1-i, so the best model is drawn highest.
	vs := make(plotter.Values, n)
	labels := make([]string, n)
	var bars plotter.XErrors
	var barXY, dots plotter.XYs
	for i := range n {
		y := float64(n - 1 - i)
		labels[n-1-i] = names[i]
		if finite(scores[i]) {
			vs[n-1-i] = scores[i]
			if finite(se[i]) {
				barXY = append(barXY, plotter.XY{X: scores[i], Y: y})
				bars = append(bars, struct{ Low, High float64 }{se[i], se[i]})
			}
		} else {
			labels[n-1-i] += " (n/a)"
		}
		if subjects != nil {
			for _, v := range subjects[i] {
				if finite(v) {
					dots = append(dots, plotter.XY{X: v, Y: y})
				}
			}
		}
	}
	p := newPlot(title, xlabel, "")
	height := vg.Length(math.Max(3, 1+0.18*float64(n))) * vg.Inch
	row := (height - vg.Inch).Points() / float64(n) // points per model, about
	b, err := plotter.NewBarChart(vs, vg.Points(math.Min(36, 0.65*row)))
	if err != nil {
		return err
	}
	b.Horizontal, b.Color, b.LineStyle.Width = true, color.RGBA{R: 158, G: 202, B: 225, A: 255}, 0
	p.Add(b)
	if len(dots) > 0 {
		sc, err := plotter.NewScatter(dots)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = grey, vg.Points(1.8), draw.CircleGlyph{}
		p.Add(sc)
	}
	if len(bars) > 0 {
		eb, err := plotter.NewXErrorBars(struct {
			plotter.XYs
			plotter.XErrors
		}{barXY, bars})
		if err != nil {
			return err
		}
		eb.LineStyle.Color, eb.LineStyle.Width = color.Black, vg.Points(1)
		p.Add(eb)
	}
	p.NominalY(labels...)
	p.X.Max += 0.03 * (p.X.Max - p.X.Min) // the outermost dots clear the edge
	return saveHeight(w, height, func(dc draw.Canvas) { p.Draw(dc) })
}
