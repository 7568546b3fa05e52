package sweep

import "context"

// Hooks for the tests of package sweep_test; each setter returns the restore.

// SetMergeTablesWritten sets a function called once a merge has written the tables, before it
// checks that the units did not change meanwhile (another shard at work during the merge).
func SetMergeTablesWritten(f func()) (restore func()) {
	old := mergeTablesWritten
	mergeTablesWritten = f
	return func() { mergeTablesWritten = old }
}

// SetMergeLockWait replaces how a merger waits for another's merge lock.
func SetMergeLockWait(f func()) (restore func()) {
	old := mergeLockWait
	mergeLockWait = func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		f()
		return nil
	}
	return func() { mergeLockWait = old }
}

// SetMergeRead sets a function called once a merge has read the manifest and metadata.
func SetMergeRead(f func()) (restore func()) {
	old := mergeRead
	mergeRead = f
	return func() { mergeRead = old }
}

// SetLegacyStamping sets a function called after a legacy unit record was read to be stamped
// with the data digest, with the unit's path prefix (a shard rescoring it meanwhile).
func SetLegacyStamping(f func(base string)) (restore func()) {
	old := legacyStamping
	legacyStamping = f
	return func() { legacyStamping = old }
}

// SetMetadataWritten sets a function called once a run has written sweep.json and meta/ (a
// kill there leaves the folder as it is then).
func SetMetadataWritten(f func()) (restore func()) {
	old := metadataWritten
	metadataWritten = f
	return func() { metadataWritten = old }
}

// WriteTable writes table.csv's rows of the checkpoints x layers x targets scores.
var WriteTable = writeTable
