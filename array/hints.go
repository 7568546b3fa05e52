package array

import (
	"slices"
	"strings"
)

// conversionHint says, for the extension of a file type brainalign does not read but researchers
// keep arrays in, how to save the array as one it reads; "" for other extensions.
func conversionHint(ext string) string {
	switch strings.ToLower(ext) {
	case ".pt", ".pth", ".ckpt":
		return "a PyTorch file is not read (unpickling can run code): save the tensor as safetensors (safetensors.torch.save_file({'layer': t}, 'x.safetensors')) or .npy (np.save('x.npy', t.float().numpy()))"
	case ".pkl", ".pickle", ".joblib":
		return "pickled Python objects are not read (unpickling can run code): save the array with np.save('x.npy', a)"
	case ".hdf":
		return "an .hdf file is not read (HDF4, or HDF5 under another name): an HDF5 file is read as .h5 or .hdf5; otherwise save the dataset as .npy"
	case ".csv", ".tsv", ".txt":
		return "text tables are not read as data: save the array as .npy (np.save('x.npy', np.loadtxt('x.csv', delimiter=',')))"
	case ".zarr", ".parquet", ".feather", ".arrow":
		return "save the array as .npy (np.save('x.npy', a))"
	}
	return ""
}

// ReversedNote is a hint for shape errors where one shape is the other's axes reversed (x, y, z
// against z, y, x): arrays written from MATLAB or Fortran order, as NSD's HDF5 betas hold a
// volume's axes, read in C order; "" otherwise.
func ReversedNote(a, b []int) string {
	if len(a) < 2 || len(a) != len(b) || slices.Equal(a, b) {
		return ""
	}
	for i := range a {
		if a[i] != b[len(b)-1-i] {
			return ""
		}
	}
	return " (the same axes reversed: an array written in MATLAB's or Fortran's order, as NSD's HDF5 betas hold the volume, read in C order; transpose one, e.g. np.transpose(betas, (0, 3, 2, 1)), or the mask with .T)"
}
