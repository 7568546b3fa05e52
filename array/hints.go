package array

import "strings"

// conversionHint says, for the extension of a file type brainalign does not read but researchers
// keep arrays in, how to save the array as one it reads; "" for other extensions.
func conversionHint(ext string) string {
	switch strings.ToLower(ext) {
	case ".pt", ".pth", ".ckpt":
		return "a PyTorch file is not read (unpickling can run code): save the tensor as safetensors (safetensors.torch.save_file({'layer': t}, 'x.safetensors')) or .npy (np.save('x.npy', t.float().numpy()))"
	case ".pkl", ".pickle", ".joblib":
		return "pickled Python objects are not read (unpickling can run code): save the array with np.save('x.npy', a)"
	case ".mat":
		return "a MATLAB file is not read: save the array as .npy (scipy.io.loadmat('x.mat')['name'], or h5py for a v7.3 file, then np.save; MATLAB's arrays are column-major: transpose to images first)"
	case ".h5", ".hdf5", ".hdf", ".he5":
		return "HDF5 is not read: save the dataset as .npy (np.save('x.npy', h5py.File('x.h5')['name'][...])), or use the data's NIfTI files where they exist (NSD's betas)"
	case ".csv", ".tsv", ".txt":
		return "text tables are not read as data: save the array as .npy (np.save('x.npy', np.loadtxt('x.csv', delimiter=',')))"
	case ".zarr", ".parquet", ".feather", ".arrow":
		return "save the array as .npy (np.save('x.npy', a))"
	}
	return ""
}
