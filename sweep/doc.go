// Package sweep scores one brain dataset against many activation matrices (the layers of a
// checkpoint, and the checkpoints of a training run), writes every finished unit atomically so
// that an interrupted or sharded run resumes where it stopped, merges the units into tables, and
// computes the study's metrics (docs/design.md §4, package metrics) from the saved tables, so no
// metric ever needs the fits recomputed.
//
// # Units and how they are found
//
// A unit is one (model, checkpoint, layer) activation matrix, images x features. Discover finds
// the units of one model under a path:
//
//	acts.npz | .safetensors | .h5  one checkpoint; each float array is a layer (HDF5: by path)
//	DIR/*.npy                       one checkpoint; each file is a layer (DIR/layer-07.npy)
//	DIR/<ckpt>/*.npy                checkpoints as folders, layers as files
//	DIR/<ckpt>.npz|.safetensors|.h5 checkpoints as bundles, layers as their arrays (HDF5, .mat:
//	                                only in a folder of no other arrays)
//	DIR/<ckpt>/<one bundle>         the same, one bundle per checkpoint folder
//	DIR/manifest.csv                explicit: header checkpoint,step,layer,path[,member]
//
// Layers are ordered naturally: names are compared run by run, numbers by value and other text
// as strings, so every number counts ("blocks.2.mlp.fc2" before "blocks.10.mlp.fc2", "layer2"
// before "layer10"); names holding a number come before names without one, and names that
// differ only in leading zeros ("layer02", "layer2") are ordered as strings. A manifest's
// layers are in the order of their first rows, and Plan.OrderLayers (brainalign sweep --layers)
// sets any order, or a subset: name order cannot know where unnumbered layers (patch_embed,
// norm, head) or where one family of names (features.*) goes against another (classifier.*);
// Plan.OrderDoubt lists such groups. The first layer is relative depth 0, the last
// 1. A checkpoint's training step is the number after "step" (or "iter") in its name, else its
// last integer ("step1000_seed0": 1000, "ckpt-0100000": 100000), unless steps are given
// explicitly (one per checkpoint, in order); checkpoints are ordered by step when every one has
// a step, else by name, naturally.
// Every checkpoint must have the same layers. Integer arrays in a bundle (stimulus ids, labels)
// are not layers and are skipped; so are members that are not arrays (meta.json, __MACOSX/) and
// arrays of unsupported dtypes (strings), listed in Plan.Skipped. A bundle's layers are listed
// from their headers, each read (decompressed) only when scored. Features must be 2-d (images x
// features).
//
// # Output layout
//
// Everything is written under one directory, file by file through package atomicfile:
//
//	sweep.json                     what was swept: brain data (its --brain-mask and id files), options, checkpoints, layers, metadata
//	meta/coords.npy roi_labels.npy roi_names.txt times.npy ceiling.npy   brain metadata copied in
//	units/<ckpt>/<layer>.scores.npy       targets (float64; trailing shape of the brain data)
//	units/<ckpt>/<layer>.fold_scores.npy  folds x targets
//	units/<ckpt>/<layer>.alphas.npy       folds x targets, the chosen penalties
//	units/<ckpt>/<layer>.json             the unit's record, written last: its presence, with
//	                                      complete arrays of the right shapes, marks the unit done;
//	                                      it holds the brain data's fingerprint and data digest
//	scores.npy        checkpoints x layers x targets... (merge)
//	fold_scores.npy   checkpoints x layers x folds x targets... (merge)
//	steps.npy         training step per checkpoint (merge; only when every checkpoint has one)
//	table.csv         tidy: one row per (checkpoint, layer) (merge)
//	merged.json       the last complete merge: a hash of sweep.json, meta/ and the unit records
//	merge.lock        while a merge runs: the merger's HOST-PID-RANDOM (one merge at a time)
//	merge.lock.break  for a moment, while a merger removes an abandoned merge.lock
//
// A restarted run skips units whose record and arrays are complete and recomputes the rest
// (a missing, truncated or inconsistent file counts as not done). The arrays are checked from
// their headers and sizes, not read (a restart of thousands of 330,000-target units would read
// tens of GB); Merge reads them, and a unit whose values it finds damaged loses its record, so
// that the next run scores it again. A run with nothing to score merges again only when
// merged.json says the tables are not current (other metadata, a unit scored again by another
// shard, a merge that did not finish). Load and OpenScores read the tables only while
// merged.json is there and every unit has its record (a folder without units/ at all, the
// tables copied alone, is read as merged). A run removes merged.json before it rewrites
// sweep.json or meta/ with other contents (other steps, ROI names, a ceiling added), so that a
// run killed before it merges again leaves the tables not current; one that rewrites them
// unchanged keeps it. A unit's record is reused only with this run's
// fingerprint and data digest (DataDigest: every brain value and the row pairing): units of
// other brain data are scored again, even with sweep.json gone. The caller hashes rows paired
// as stored as such, ids or none; Config.SameData lets a run keep a folder's digest of the same
// data hashed in another form (earlier versions hashed ids pairing rows as stored with them). Records of earlier versions,
// without a digest, are reused only when sweep.json was written by such a version (no
// records_digest) and holds this run's data digest, or none (a version before digests: then on
// the fingerprint alone, as that version did, and the run says so); the run gives every shard's
// such records its digest. A unit's record
// also keeps the identity of the activations it was scored from: the file's absolute path (links
// resolved), member, size and modification time, and the array's shape and dtype (for a bundle
// member, the bundle file's size and time, so re-saving a bundle recomputes all its layers),
// and a hash of the file's first and last 64 KiB. A file at another path (the folder moved or
// copied with its times) is the same source when its size, time and that sample match; any
// other difference makes the source another one. A done unit whose source no longer matches
// is recomputed (its record is removed at once, so no
// merge takes its old scores) and counted in Report.Changed; one whose source cannot be looked
// at now (deleted, a file system failing a stat) is scored again where it can be read, its
// record kept meanwhile (Merge takes it: nothing says its activations changed). Records written before sources
// were recorded are checked by their feature count only; in-memory sources are not checked. A
// directory holding units of a different sweep (other brain data, other folds or penalties, or
// the same layers in another order) is refused, never mixed.
//
// # Sharding
//
// Units are numbered in (checkpoint, layer) order; shard i of N (0-based, --shard i/N, or
// --shard slurm: ShardFromEnv's SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT, stepped arrays
// too) takes units i, i+N, i+2N, ...; the shards of one
// sweep cover every unit exactly once. Each shard merges when it finds every unit done (another
// shard's unit whose activations changed is not done, and the shard that finds it so removes
// merged.json: only the unit's own shard scores it again), so the last one to finish writes the
// tables; Merge can also be run on its own (it merges the units as recorded, refusing those
// whose source file, where it still is, changed size or modification time since). One merge
// runs at a time, holding merge.lock (created exclusively; a lock whose process is gone from
// this host, or untouched for MergeLockStale, is abandoned and removed, by one merger at a
// time, or by a run that finds the tables current and has nothing to merge); the others wait,
// then merge only if the tables are not current. The lock appears with its holder's tag in it
// (written under a temp name and hard-linked into place where the file system can), so that a
// merger killed as it takes the lock leaves one whose process can be checked. A merge removes the
// temp files of killed runs and merges first, and records its tables as current only if no
// unit record changed while it read them (else ErrUnitsChanged: a shard scoring a unit again
// merges when it is done).
//
// # Dry runs
//
// DryRun answers, without an engine and without writing anything, what Run would do with a
// Config: which of this shard's units it would reuse, score, or score again (and why), how many
// of other shards' are left, and the mean time per unit of the engines that scored the done
// ones. It checks every unit's activations from the files' headers (readable, 2-d, floating
// point, Config.SourceRows rows) and, when asked, their values, and lists each unit that would
// stop Run, and an output folder Run could not write: a job array's inputs can be checked on a
// login node before it is submitted.
//
// ReadStatus reads how far a sweep folder has come from its files alone (units done, the
// engines' time per unit, the rate of the latest units from their records' times, whether the
// tables are current), for watching a job array.
//
// # Reading ahead
//
// While a unit is scored, the next unit's activations are read on another goroutine (mapped,
// converted from float16/bfloat16, rows selected by Config.Prepare, every page touched), so
// that a GPU does not wait for the file system between layers. It reads one unit ahead and no
// further: at most two activation matrices are held at once. A unit that cannot be read fails
// the run when its turn comes, after the units before it are written.
//
// # Metrics
//
// Load reads a merged sweep; Spatial, Temporal, HalfTimes and Compare compute the metrics of
// package metrics over one or more subjects' sweeps (see their documentation for which scores
// enter each metric). Across many models (scaling laws), FindSweeps finds sweep folders under
// given paths, ModelSweeps groups them by model label, and LoadAlignment reduces each model's
// subjects to one alignment score (ModelAlignment: the mean over targets at one checkpoint and
// layer, by default the best layer, averaged over subjects), reading through OpenScores only
// the pages of scores.npy it uses. Rank orders such scores and compares each model with the
// first across subjects (Paired: subjects paired by brain-data fingerprint, Wilcoxon test).
package sweep
