package sweep_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/sweep"
)

// Layer names as timm, PyTorch and Hugging Face models give them, 12 layers each so that 10
// and 11 appear: sorting by the last number alone put blocks.10 and blocks.11 between
// blocks.1 and blocks.2 (the 2 of fc2 and the 1 of norm1 tie every layer).
var layerStyles = []string{
	"blocks.%d.mlp.fc2",                        // timm ViT
	"blocks.%d.norm1",                          // timm ViT
	"blocks.%d.attn.qkv",                       // timm ViT
	"encoder.layer.%d.output",                  // HF BERT/ViT
	"model.layers.%d.post_attention_layernorm", // HF Llama
	"transformer.h.%d.ln_2",                    // HF GPT-2
	"layer%d",                                  // plain
	"features.%d",                              // torchvision VGG/AlexNet
	"stage%d.block2.conv3",                     // a number after the layer's
	"layer_%02d",                               // zero-padded
}

const orderLayers = 13

// wantOrder lists a style's names shallow to deep; shuffled returns them in a random order.
func wantOrder(style string) []string {
	var n []string
	for i := 0; i < orderLayers; i++ {
		n = append(n, fmt.Sprintf(style, i))
	}
	return n
}

func shuffled(names []string, seed uint64) []string {
	s := append([]string(nil), names...)
	rand.New(rand.NewPCG(seed, 1)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

func TestDiscoverLayerOrderNPZ(t *testing.T) {
	dir := t.TempDir()
	for k, style := range layerStyles {
		want := wantOrder(style)
		var arrs []*array.Array
		for _, name := range shuffled(want, uint64(k)) {
			arrs = append(arrs, &array.Array{Name: name, Shape: []int{tn, td}, F32: make([]float32, tn*td)})
		}
		arrs = append(arrs, &array.Array{Name: "image_ids", Shape: []int{tn}, I64: make([]int64, tn)})
		npz := filepath.Join(dir, fmt.Sprintf("style%d.npz", k))
		if err := array.WriteNPZ(npz, arrs); err != nil {
			t.Fatal(err)
		}
		p, err := sweep.Discover(npz, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(p.Layers, " "); got != strings.Join(want, " ") {
			t.Errorf("%s in an .npz:\n got %s\nwant %s", style, got, strings.Join(want, " "))
		}
		for l, src := range p.Checkpoints[0].Layers {
			if src.Member != want[l] {
				t.Errorf("%s: layer %d reads member %q, want %q", style, l, src.Member, want[l])
				break
			}
		}
	}
}

func TestDiscoverLayerOrderNPYFolder(t *testing.T) {
	for k, style := range layerStyles {
		dir := filepath.Join(t.TempDir(), "acts")
		os.MkdirAll(dir, 0o755)
		want := wantOrder(style)
		for _, name := range shuffled(want, uint64(k)) {
			if err := array.WriteNPY(filepath.Join(dir, name+".npy"), []int{tn, td}, make([]float32, tn*td)); err != nil {
				t.Fatal(err)
			}
		}
		p, err := sweep.Discover(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(p.Layers, " "); got != strings.Join(want, " ") {
			t.Errorf("%s as .npy files:\n got %s\nwant %s", style, got, strings.Join(want, " "))
		}
		for l, src := range p.Checkpoints[0].Layers {
			if filepath.Base(src.Path) != want[l]+".npy" {
				t.Errorf("%s: layer %d reads %s, want %s.npy", style, l, src.Path, want[l])
				break
			}
		}
	}
}

// Checkpoints as folders of .npy layers in name order, and a manifest: its layers in the order
// of their first rows (the first checkpoint's), whatever the order of the other rows.
func TestDiscoverLayerOrderCheckpointsAndManifest(t *testing.T) {
	dir := t.TempDir()
	want := wantOrder("blocks.%d.mlp.fc2")
	var man strings.Builder
	man.WriteString("checkpoint,step,layer,path\n")
	for i, ck := range []string{"ckpt-2", "ckpt-10"} {
		os.MkdirAll(filepath.Join(dir, "run", ck), 0o755)
		rows := want
		if i > 0 {
			rows = shuffled(want, 3)
		}
		for _, name := range rows {
			f := filepath.Join(dir, "run", ck, name+".npy")
			if err := array.WriteNPY(f, []int{tn, td}, make([]float32, tn*td)); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&man, "%s,,%s,%s\n", ck, name, f)
		}
	}
	p, err := sweep.Discover(filepath.Join(dir, "run"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Layers, " "); got != strings.Join(want, " ") || p.Checkpoints[0].Name != "ckpt-2" {
		t.Errorf("checkpoint folders: checkpoints %s, %s; layers %s", p.Checkpoints[0].Name, p.Checkpoints[1].Name, got)
	}
	os.MkdirAll(filepath.Join(dir, "m"), 0o755)
	os.WriteFile(filepath.Join(dir, "m", "manifest.csv"), []byte(man.String()), 0o644)
	p, err = sweep.Discover(filepath.Join(dir, "m"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Without steps, checkpoints are ordered by name, naturally: ckpt-2 before ckpt-10.
	if got := strings.Join(p.Layers, " "); got != strings.Join(want, " ") || p.Checkpoints[0].Name != "ckpt-2" {
		t.Errorf("manifest: checkpoints %s, %s; layers %s", p.Checkpoints[0].Name, p.Checkpoints[1].Name, got)
	}
	for l, src := range p.Checkpoints[1].Layers {
		if filepath.Base(src.Path) != want[l]+".npy" || !strings.Contains(src.Path, "ckpt-10") {
			t.Errorf("manifest: layer %d of ckpt-10 reads %s", l, src.Path)
		}
	}
}

// A checkpoint's step is the number after "step" in its name, else its last number; names whose
// steps tie are refused (give --steps), never ordered silently.
func TestDiscoverCheckpointSteps(t *testing.T) {
	dir := t.TempDir()
	mk := func(run string, cks ...string) string {
		for _, ck := range cks {
			os.MkdirAll(filepath.Join(dir, run, ck), 0o755)
			for l := 0; l < 2; l++ {
				array.WriteNPY(filepath.Join(dir, run, ck, fmt.Sprintf("layer%d.npy", l)), []int{tn, td}, make([]float32, tn*td))
			}
		}
		return filepath.Join(dir, run)
	}
	p, err := sweep.Discover(mk("steps", "epoch1-step900", "epoch10-step9000", "epoch2-step1800"), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range p.Checkpoints {
		got = append(got, fmt.Sprintf("%s@%v", c.Name, c.Step))
	}
	if strings.Join(got, " ") != "epoch1-step900@900 epoch2-step1800@1800 epoch10-step9000@9000" {
		t.Errorf("checkpoints by step: %v", got)
	}
	p, err = sweep.Discover(mk("seeds", "step1000_seed0", "step200_seed0"), "")
	if err != nil || p.Checkpoints[0].Step != 200 || p.Checkpoints[1].Step != 1000 {
		t.Errorf("steps named before a seed: %v, %+v", err, p.Checkpoints)
	}
	_, err = sweep.Discover(mk("ties", "run1_ckpt5", "run2_ckpt5"), "")
	if err == nil || !strings.Contains(err.Error(), "steps must increase") {
		t.Errorf("checkpoints whose steps tie: %v, want refused", err)
	}
}

// A manifest's row order is its layer order, also where names alone would order otherwise; and
// OrderLayers sets any order or a subset, in every checkpoint.
func TestManifestAndExplicitLayerOrder(t *testing.T) {
	dir := t.TempDir()
	forward := []string{"patch_embed", "blocks.0", "blocks.1", "blocks.10", "norm", "head"}
	var man strings.Builder
	man.WriteString("checkpoint,step,layer,path\n")
	for i, ck := range []string{"a", "b"} {
		for _, name := range forward {
			f := filepath.Join(dir, ck+"-"+name+".npy")
			if err := array.WriteNPY(f, []int{tn, td}, make([]float32, tn*td)); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&man, "%s,%d,%s,%s\n", ck, (i+1)*100, name, f)
		}
	}
	os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(man.String()), 0o644)
	p, err := sweep.Discover(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Layers, " "); got != strings.Join(forward, " ") {
		t.Errorf("manifest rows %v: layers %s", forward, got)
	}
	if u := p.OrderDoubt(); u != nil {
		t.Errorf("a manifest's order doubted: %v", u)
	}
	p.Explicit = false
	if u := p.OrderDoubt(); strings.Join(u, " ") != "patch_embed blocks.* norm head" {
		t.Errorf("name groups %v", u)
	}
	if err := p.OrderLayers([]string{"blocks.10", "patch_embed", "head"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Layers, " "); got != "blocks.10 patch_embed head" {
		t.Errorf("ordered layers %s", got)
	}
	for _, c := range p.Checkpoints {
		for l, want := range []string{"blocks.10", "patch_embed", "head"} {
			if base := filepath.Base(c.Layers[l].Path); base != c.Name+"-"+want+".npy" {
				t.Errorf("checkpoint %s layer %d reads %s", c.Name, l, base)
			}
		}
	}
	for _, bad := range [][]string{{"blocks.10", "nope"}, {"head", "head"}, {"head"}} {
		if err := p.OrderLayers(bad); err == nil {
			t.Errorf("OrderLayers(%v) accepted", bad)
		}
	}
}
