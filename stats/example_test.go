package stats_test

import (
	"fmt"

	"github.com/brainalign/brainalign/stats"
)

func ExampleWilcoxon() {
	// One metric for two models on 8 subjects; model a wins on every
	// subject, the most extreme outcome: exact p = 2/2^8.
	a := []float64{0.31, 0.29, 0.35, 0.33, 0.30, 0.28, 0.36, 0.32}
	b := []float64{0.30, 0.27, 0.31, 0.30, 0.295, 0.27, 0.33, 0.31}
	t, p, err := stats.Wilcoxon(a, b)
	if err != nil {
		panic(err)
	}
	fmt.Println(t, p)
	// Output: 0 0.0078125
}

func ExampleBenjaminiHochberg() {
	q := stats.BenjaminiHochberg([]float64{0.01, 0.04, 0.03, 0.005})
	fmt.Printf("%.3f\n", q)
	// Output: [0.020 0.040 0.040 0.020]
}

func ExampleFitPowerLaw() {
	// Alignment of six models against their training compute (FLOP).
	compute := []float64{1e17, 1e18, 1e19, 1e20, 1e21, 1e22}
	score := []float64{0.212, 0.301, 0.352, 0.381, 0.398, 0.407}
	p, err := stats.FitPowerLaw(compute, score)
	if err != nil {
		panic(err)
	}
	fmt.Printf("saturates at %.4f (± %.4f), exponent %.3f; at 1e24 FLOP: %.3f\n", p.YInf, p.SE.YInf, p.Alpha, p.At(1e24))
	// Output: saturates at 0.4199 (± 0.0003), exponent 0.243; at 1e24 FLOP: 0.416
}
