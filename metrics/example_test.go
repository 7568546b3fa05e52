package metrics_test

import (
	"fmt"

	"github.com/brainalign/brainalign/metrics"
)

func ExampleBestLayer() {
	// 3 layers x 2 targets: target 0 is best predicted by layer 1, target 1
	// by the last layer.
	r := []float64{
		0.10, 0.05,
		0.30, 0.10,
		0.20, 0.25,
	}
	b, err := metrics.BestLayer(r, 3, 2)
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Index, b.Depth)
	// Output: [1 2] [0.5 1]
}

func ExampleHalfTimeOf() {
	// The metric reaches half of its final 0.8 between 1e3 and 1e5 steps;
	// interpolating in log(step) puts it at 10^4.5 steps.
	steps := []float64{1e3, 1e5, 1e6, 1e7}
	values := []float64{0.1, 0.5, 0.7, 0.8}
	h, err := metrics.HalfTimeOf(steps, values)
	if err != nil {
		panic(err)
	}
	fmt.Printf("step %.0f, %.2f%% of training\n", h.Step, 100*h.Fraction)
	// Output: step 31623, 0.32% of training
}

func ExampleTMax() {
	times := []float64{0.0, 0.1, 0.2, 0.3}
	curves := []float64{ // 2 layers x 4 times, channel means
		0.2, 1.0, 0.97, 0.1, // peak period 0.1-0.2
		0.0, 0.1, 0.3, 0.6, // later layer, later peak
	}
	tm, _ := metrics.TMax(curves, 2, times, metrics.TMaxThreshold)
	fmt.Printf("%.2f\n", tm)
	// Output: [0.15 0.30]
}
