// Package ceiling estimates the noise ceiling of brain data from repeated trials: for each
// target, the largest Pearson r that a noiseless model could reach against the stimulus-averaged
// responses, given how much the trials of one stimulus disagree. Dividing an encoding score by
// it ("ceiled" score, as Brain-Score reports) compares targets, ROIs and subjects of unequal
// noise.
//
// Model. A target's response on trial t of stimulus s is y = mu_s + e_t: a signal of variance
// sigma_s^2 across stimuli plus trial noise of variance sigma_n^2. The noise-ceiling
// signal-to-noise ratio (NSD's ncsnr, Allen et al. 2022) is snr = sigma_s / sigma_n. The data
// scored are the stimulus means, the mean of n_s trials for stimulus s, so the fraction of their
// variance that a noiseless model can explain is
//
//	explainable = snr^2 / (snr^2 + nu),   nu = mean over stimuli of 1/n_s,
//
// (NSD's noise ceiling NC = 100 x explainable, including its formula for stimuli with unequal
// repeat counts) and the ceiling on Pearson's r is sqrt(explainable). Scores computed over a
// fixed test set are ceiled with nu over its stimuli only (Options.Scored): test images shown
// more often than the others have a higher ceiling than all images together.
//
// Two estimators of snr:
//
//   - ncsnr (default): variance components. sigma_n^2 is the pooled within-stimulus variance,
//     sum over repeated stimuli of sum_t (y_t - ybar_s)^2 / sum (n_s - 1), and sigma_s^2 =
//     max(0, var(all trials, ddof 1) - sigma_n^2). With trials z-scored within each session
//     (Options.Groups) the total variance is about 1 and this is NSD's
//     ncsnr = sqrt(max(0, 1 - sigma_n^2)) / sigma_n; here the measured total is used.
//   - split-half: the trials of each repeated stimulus are shuffled and cut into halves A and B
//     (floor(n_s/2) and the rest), each half averaged, and Pearson's r between the half means
//     is taken across the repeated stimuli; r is averaged over Options.Splits random splits.
//     Two averages with noise terms nu_A, nu_B (mean 1/|half|) correlate by
//     r = S / sqrt((S + nu_A)(S + nu_B)) with S = snr^2, solved for S; with equal halves
//     S = r nu / (1 - r), and with two trials per stimulus explainable is the Spearman-Brown
//     2r / (1 + r). Brain-Score's ceiling uses the same split-half correlation but divides
//     scores by the Spearman-Brown reliability itself, not by its square root.
//
// Bias. Both estimates truncate at 0, so a target without signal gets a small positive ceiling
// (about 0.07-0.09 with 1,500 stimuli of one to four trials, shrinking with more stimuli); a
// target with signal is estimated without visible bias (the package's planted-truth test).
//
// Degenerate targets. A target constant over all trials has ceiling 0 (its encoding score is 0
// too) and is counted in Result.Constant. A target whose repeats agree exactly (no noise) has
// snr +Inf and ceiling 1, counted in Result.NoNoise. Within a z-scoring group, a target that is
// constant is set to 0 (a group of one trial always is).
//
// Units. Each target's trials are scaled by a power of two (exactly) before the sums of squares,
// and z-scored within each group in units of a power of two about their spread, so the ceiling
// does not depend on the data's units: trials in units of 1e-170 or 1e170 get the ceiling they
// get in units of 1.
//
// Memory. The trials are read in blocks of columns (targets), so a memory-mapped file larger
// than memory is processed in pieces; the averaged data (Options.Average) are held whole, in the
// input's precision.
package ceiling
