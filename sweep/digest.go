package sweep

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"runtime"
	"sync"
	"unsafe"

	"github.com/brainalign/brainalign/engine"
)

// digestChunk is the span of bytes each CRC covers; chunks are hashed on all cores.
const digestChunk = 8 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// DataDigest identifies the brain data a sweep scores against, every value of it, and the
// activation rows paired with its rows (xRows, the features' rows in use in order, nil when the
// rows pair as stored): the Fingerprint samples three rows, so a corrected value elsewhere, or a
// corrected stimulus-id pairing, would otherwise reuse units scored on the old data. The data are
// hashed as stored (CRC-32C of each 8 MiB, hardware-accelerated, on all cores; the CRCs then
// SHA-256'd with the shape, layout and pairing): about a second for 13 GB.
func DataDigest(y engine.Matrix, xRows []int) string {
	var raw []byte
	kind := byte(64)
	switch size := y.Rows * y.Cols; {
	case y.F64 != nil:
		raw = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(y.F64))), size*8)
	case y.F32 != nil:
		raw, kind = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(y.F32))), size*4), 32
	}
	n := (len(raw) + digestChunk - 1) / digestChunk
	crcs := make([]uint32, n)
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				crcs[i] = crc32.Checksum(raw[i*digestChunk:min(len(raw), (i+1)*digestChunk)], castagnoli)
			}
		}()
	}
	wg.Wait()

	h := sha256.New()
	layout := byte(0)
	if y.ColMajor {
		layout = 1
	}
	h.Write([]byte{kind, layout})
	binary.Write(h, binary.LittleEndian, []int64{int64(y.Rows), int64(y.Cols), int64(len(raw))})
	binary.Write(h, binary.LittleEndian, crcs)
	if xRows != nil {
		h.Write([]byte{1})
		for _, r := range xRows {
			binary.Write(h, binary.LittleEndian, int64(r))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
