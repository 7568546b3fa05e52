// Package synth generates a synthetic brain-encoding study with planted truth: the activations
// of a layered vision model (optionally over training checkpoints), fMRI and MEG responses of
// several subjects to the same images, and the answers the metrics of docs/design.md §4 should recover.
// `brainalign demo` runs on it, and tests use it to check that the metrics find what was planted.
// Everything is deterministic given Config.Seed (math/rand/v2 PCG, one independent stream per
// component), and nothing here touches files.
//
// # Model
//
// Each layer l = 0..L-1 has a latent Z_l (n x q): the image representation the brain is driven
// by. The latents form a chain,
//
//	Z_0 ~ N(0, I),  Z_l = Rho Z_{l-1} + sqrt(1-Rho^2) E_l,   so corr(Z_l[:,p], Z_k[:,p]) = Rho^|l-k|.
//
// Layer l's activations at checkpoint c are d_l features built from d_l unit-variance sources S:
// the latent components sit in columns 0, 2, ..., 2q-2 (LatentColumn), mixed with checkpoint
// noise, and the other columns are noise,
//
//	S[:, 2p] = a_l(s_c) Z_l[:, p] + sqrt(1 - a_l(s_c)^2) Xi[:, 2p],   S[:, j] = Xi[:, j] otherwise,
//	X = S diag(sqrt(lambda)) Q_l^T,   lambda_j = j^-alpha (j = 1..d_l),
//	X[:, f] <- offset_f + scale_f X[:, f],   scale_f = g_l exp(sigma N(0,1)),  g_l = exp(0.15 l),
//
// with Q_l a random rotation fixed per layer, Xi fresh per checkpoint and layer, alpha =
// SpectrumExponent (1: the k^-1 decay of real networks) and sigma = FeatureScaleSpread. The
// covariance eigenvalues therefore follow the power law (exactly in expectation when sigma = 0;
// Model.Spectra holds lambda), and the latent lies within the top 2q principal components.
//
// Training: a_l(s) = 1 / (1 + exp(-(ln s - ln m_l) / w)) with sigmoid midpoints m_l log-spaced
// from HalfTimeFirst (layer 0) to HalfTimeLast (layer L-1), w = SigmoidWidth, and checkpoint
// steps s_c log-spaced from StepMin to StepMax. Early checkpoints are random features unrelated
// to the latents; deeper layers learn later. Without checkpoints a_l = 1.
//
// # Brain data
//
// A signal target t is driven by one layer k_t with strength rho_t and a fixed unit direction
// w_t in latent space; noise eps is fresh per subject:
//
//	y_t = rho_t Z_{k_t} w_t + sqrt(1 - rho_t^2) eps_t   (population variance 1),
//
// so the best linear prediction of y_t from layer l at step s has population Pearson r
//
//	popR(t, l, s) = rho_t a_l(s) Rho^|l - k_t|          (Truth.FMRIPopR, Truth.MEGPopR):
//
// the driving layer explains a target best, and its neighbours by a factor Rho less.
//
// fMRI: m vertices of the left hemisphere lie along a posterior-to-anterior axis from the
// occipital pole (-12, -100, 2) to prefrontal cortex (-40, 40, 20) (MNI-like mm), in six ROIs
// V1, V2, V4, LO, IT, PFC (equal shares, contiguous target indices) plus isotropic spread. The
// V1 reference is the axis point at the middle of the V1 band. Planted depth
// delta_t = clip(dist_t / D + DepthJitter N(0,1), 0, 1), D the distance of the axis point 0.9,
// and k_t = round(delta_t (L-1)); rho_t ~ U(SignalMin, SignalMax); a share NoiseFraction of
// targets has no signal (rho_t = 0, k_t = -1). Each target also gets an offset and a scale (BOLD
// units). Each subject displaces each vertex by CoordJitter N(0,1) mm per axis.
//
// MEG: channels x times from TMin to TMax at SampleRate, flattened channel-major (target c*T + t,
// a NumPy (n, channels, times) C-order array). Target (c, t) is driven by layer
// k = round(clip((t - Early)/(Late - Early) + DepthJitter N(0,1), 0, 1) (L-1)) with
// rho_{c,t} = SignalMax g_c E(t), E the evoked envelope (Envelope: 0 up to onset, peak 1 at
// 0.15 s, sustained ~0.5 later), g_c ~ U(0.5, 1); nothing before or at 0 s, and a share
// NoiseFraction of channels is pure noise. Noise is AR(1) over time (NoiseAR) within each image
// and channel.
//
// # What is planted and how closely it is recovered
//
// Truth gives, per target, the driving layer, its relative depth k/(L-1), rho and the noise mask;
// for fMRI the template distance from V1 and SpatialR (Pearson r of depth vs distance over signal
// targets; about 0.95 in Demo); for MEG TMax per layer (docs/design.md §4's rule applied to the
// channel-mean population score of the trained model) and TemporalR (about 0.97 in Demo); per
// layer the amplitude midpoints and half-times; and the half-time of any set of targets
// (FMRIHalfTime, MEGHalfTime; ROIHalfTime per ROI): the step h at which their mean popR,
// from their driving layer or their best layer, equals half its value at the last checkpoint.
// Because popR is linear in a_l, a target's score on one layer reaches half its final value
// exactly where a_l does (Truth.LayerHalfTime); an ROI mixes the curves of its targets' layers.
// ROIs further from V1 have deeper driving layers and so later half-times (in Demo, 2.5e4 steps
// for V1 to 3.2e5 for PFC, out of 1e7).
//
// Measured on Demo (600 images, held-out r of OLS on the top 2q principal components, 450/150
// split; see the tests): the planted layer scores best for 93% of fMRI signal targets and 89% of
// MEG targets with rho >= 0.3; the neighbour/best score ratio is 0.68 (Rho 0.7); recovered
// spatial r 0.94 and temporal r 0.97; noise targets sit at chance R^2 = 2q/(n-1). ROI half-times
// from the driving layer come out 0.05-0.15 decades later than planted (weak early signals lose
// more to estimation noise), from the best layer 0-0.2 decades earlier (the max over layers of
// noisy early scores is biased up); the tests allow 0.25 and 0.35 decades. The ridge engine
// with 5 folds on Small (brainalign demo's study, 400 images, the mean best-layer score of the
// significant targets) comes out later instead: 0.02-0.15 decades for the ROIs (V1 3.5e4
// against 2.5e4 planted), 0.05 for all targets; checkpoints a decade apart add little
// interpolation error (the sigmoid is close to linear in ln s around its midpoint).
package synth
