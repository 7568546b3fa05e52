package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// progress draws a one-line progress report on a terminal, at most a few times a second. It is
// silent when disabled (stderr not a terminal), so logs and pipes stay clean.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	label   string
	start   time.Time
	last    time.Time
	printed bool
}

func newProgress(w io.Writer, on bool, label string) *progress {
	return &progress{w: w, on: on, label: label, start: time.Now()}
}

// update reports done of total units.
func (p *progress) update(done, total int) {
	if !p.on || total <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if done < total && now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	el := now.Sub(p.start)
	eta := ""
	if done > 0 && done < total {
		eta = fmt.Sprintf(", about %s left", (el * time.Duration(total-done) / time.Duration(done)).Round(time.Second))
	}
	fmt.Fprintf(p.w, "\r%s: %d/%d (%3.0f%%) %s%s\033[K", p.label, done, total, 100*float64(done)/float64(total), el.Round(time.Second), eta)
	p.printed = true
}

// setLabel changes what is being counted (e.g. the current layer).
func (p *progress) setLabel(label string) {
	p.mu.Lock()
	p.label = label
	p.mu.Unlock()
}

// done ends the progress line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.printed {
		fmt.Fprint(p.w, "\r\033[K")
		p.printed = false
	}
}
