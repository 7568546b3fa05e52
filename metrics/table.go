package metrics

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ScalingColumns names the columns of a scaling table: X (compute, parameters, data; > 0), Y
// (the alignment score) and, optionally, Group (a model family: one fit per group) and Model
// (model names, unique: to match each row with the model's sweeps). Y may be "" when Model is
// set: the scores then come from elsewhere (the sweeps).
type ScalingColumns struct {
	X, Y, Group, Model string
}

// ScalingGroup is the points of one group, in the table's order; Lines are their line numbers
// in the file (1 is the header), Models their model names (with ScalingColumns.Model). Y is
// empty when the table was read without a Y column.
type ScalingGroup struct {
	Name   string
	X, Y   []float64
	Lines  []int
	Models []string
}

// ReadScalingTable reads a CSV table with a header row (a tab-separated one when the header
// has tabs and no commas; lines starting with # are comments; a UTF-8 byte-order mark is
// ignored) and returns its points grouped by cols.Group, groups in order of first appearance
// ("all" without a group column). name is the file's name, for the errors: a missing column
// (with the columns there are), an empty, non-numeric or non-finite cell, x <= 0, a row with
// too few or too many cells, an empty or repeated model name, all with their line.
func ReadScalingTable(r io.Reader, name string, cols ScalingColumns) ([]ScalingGroup, error) {
	// The buffer holds the whole window tabSeparated peeks at: Peek returns no more than it.
	br := bufio.NewReaderSize(r, headerWindow)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\ufeff")) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	if tabSeparated(br) {
		cr.Comma = '\t'
	}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty table (want a header row naming the columns)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, csvError(err))
	}
	index := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := index[h]; dup {
			return nil, fmt.Errorf("%s: column %q appears twice in the header", name, h)
		}
		index[h] = i
	}
	col := func(what, c string) (int, error) {
		if i, ok := index[c]; ok {
			return i, nil
		}
		return 0, fmt.Errorf("%s: no column %q for %s (columns: %s)", name, c, what, strings.Join(header, ", "))
	}
	xi, err := col("x", cols.X)
	if err != nil {
		return nil, err
	}
	yi, mi, gi := -1, -1, -1
	if cols.Y != "" || cols.Model == "" {
		if yi, err = col("y", cols.Y); err != nil {
			return nil, err
		}
	}
	if cols.Model != "" {
		if mi, err = col("the model names", cols.Model); err != nil {
			return nil, err
		}
	}
	if cols.Group != "" {
		if gi, err = col("the groups", cols.Group); err != nil {
			return nil, err
		}
	}
	modelLine := map[string]int{}
	var groups []ScalingGroup
	byName := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, csvError(err))
		}
		line, _ := cr.FieldPos(0)
		number := func(i int, c string) (float64, error) {
			s := strings.TrimSpace(rec[i])
			if s == "" {
				return 0, fmt.Errorf("%s line %d: %s is empty (remove the row, or fill it in)", name, line, c)
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, fmt.Errorf("%s line %d: %s %q is not a number", name, line, c, s)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%s line %d: %s is %s", name, line, c, s)
			}
			return v, nil
		}
		x, err := number(xi, cols.X)
		if err != nil {
			return nil, err
		}
		if x <= 0 {
			return nil, fmt.Errorf("%s line %d: %s = %v; must be positive (a power law in x needs log x)", name, line, cols.X, x)
		}
		var y float64
		if yi >= 0 {
			if y, err = number(yi, cols.Y); err != nil {
				return nil, err
			}
		}
		model := ""
		if mi >= 0 {
			if model = strings.TrimSpace(rec[mi]); model == "" {
				return nil, fmt.Errorf("%s line %d: %s is empty", name, line, cols.Model)
			}
			if prev, ok := modelLine[model]; ok {
				return nil, fmt.Errorf("%s line %d: model %s is also on line %d (one row per model)", name, line, model, prev)
			}
			modelLine[model] = line
		}
		g := "all"
		if gi >= 0 {
			if g = strings.TrimSpace(rec[gi]); g == "" {
				return nil, fmt.Errorf("%s line %d: %s is empty", name, line, cols.Group)
			}
		}
		k, ok := byName[g]
		if !ok {
			k = len(groups)
			byName[g] = k
			groups = append(groups, ScalingGroup{Name: g})
		}
		grp := &groups[k]
		grp.X, grp.Lines = append(grp.X, x), append(grp.Lines, line)
		if yi >= 0 {
			grp.Y = append(grp.Y, y)
		}
		if mi >= 0 {
			grp.Models = append(grp.Models, model)
		}
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("%s: no rows after the header", name)
	}
	return groups, nil
}

// headerWindow is how far into a table tabSeparated looks for its header.
const headerWindow = 64 << 10

// tabSeparated tells from the header (the first line that is neither blank nor a comment,
// within the first headerWindow bytes) whether the table is tab-separated.
func tabSeparated(br *bufio.Reader) bool {
	head, _ := br.Peek(headerWindow)
	for _, line := range bytes.Split(head, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			return bytes.Contains(line, []byte("\t")) && !bytes.Contains(line, []byte(","))
		}
	}
	return false
}

// csvError words encoding/csv's errors as "line N: ...".
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return fmt.Errorf("line %d: a different number of cells than the header has", pe.Line)
		}
		return fmt.Errorf("line %d: %v", pe.Line, pe.Err)
	}
	return err
}
