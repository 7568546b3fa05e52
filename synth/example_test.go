package synth_test

import (
	"fmt"

	"github.com/brainalign/brainalign/synth"
)

func ExampleGenerate() {
	d, err := synth.Generate(synth.Demo())
	if err != nil {
		panic(err)
	}
	x := d.Model.Layer(3) // trained model, layer 3
	y := d.FMRI.Subjects[0].Data
	meg := d.MEG.Subjects[0]
	fmt.Println("layers", d.Model.NumLayers(), "checkpoints", d.Model.NumCheckpoints())
	fmt.Println("activations", x.Rows, x.Cols, "fMRI", y.Rows, y.Cols, "MEG", meg.Rows, meg.Cols)
	fmt.Println("ROIs", d.FMRI.ROINames, "MEG times", len(d.MEG.Times))
	fmt.Printf("planted spatial r %.2f, temporal r %.2f\n", d.Truth.FMRI.SpatialR, d.Truth.MEG.TemporalR)
	// Output:
	// layers 8 checkpoints 6
	// activations 600 88 fMRI 600 1500 MEG 600 992
	// ROIs [V1 V2 V4 LO IT PFC] MEG times 31
	// planted spatial r 0.95, temporal r 0.97
}
