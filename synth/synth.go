package synth

// Dataset is a generated synthetic study.
type Dataset struct {
	Config Config
	Model  *Model
	FMRI   *FMRI // nil when Config.FMRI.Targets == 0
	MEG    *MEG  // nil when Config.MEG.Channels == 0
	Truth  *Truth
}

// Generate validates c and generates the study: the model's latents and parameters, and all
// subjects' brain data (activations are generated on demand by Model.Activations).
func Generate(c Config) (*Dataset, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Dims = c.LayerDims() // a private copy
	st := &Dataset{Config: c, Model: newModel(c)}
	tr := &Truth{Layers: c.Layers, Rho: c.Rho, Steps: st.Model.Steps}
	if c.Checkpoints > 0 {
		tr.LayerMidpoint = layerMidpoints(c)
		tr.SigmoidWidth = c.SigmoidWidth
	}
	if c.FMRI.Targets > 0 {
		f, tmp := newFMRI(c, tr)
		f.generateSubjects(c, st.Model, tr.FMRI, tmp)
		st.FMRI = f
	}
	if c.MEG.Channels > 0 {
		g, tmp := newMEG(c, tr)
		g.generateSubjects(c, st.Model, tr.MEG, tmp)
		st.MEG = g
	}
	tr.finish(c, st.FMRI, st.MEG)
	st.Truth = tr
	return st, nil
}
