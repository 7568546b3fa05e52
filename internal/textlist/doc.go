// Package textlist formats lists for messages: the first few items, then how many were left out,
// so that an error about 5,000 labels stays one readable line.
package textlist
