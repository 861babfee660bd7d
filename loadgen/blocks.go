package loadgen

import "encoding/binary"

// blockSize is the size in bytes of one block of a varintList.
const blockSize = 64 << 10

// varintList is an append-only list of int64 values stored as varints in
// fixed-size blocks: a latency in nanoseconds takes 4 or 5 bytes instead
// of 8, and a list of a million values grows without the doubling and
// copying of a slice. Values come back in order through each.
type varintList struct {
	blocks [][]byte
	n      int
}

func (l *varintList) add(vs ...int64) {
	for _, v := range vs {
		if len(l.blocks) == 0 || len(l.blocks[len(l.blocks)-1])+binary.MaxVarintLen64 > blockSize {
			l.blocks = append(l.blocks, make([]byte, 0, blockSize))
		}
		b := &l.blocks[len(l.blocks)-1]
		*b = binary.AppendVarint(*b, v)
		l.n++
	}
}

// len is the number of values.
func (l *varintList) len() int { return l.n }

// each calls fn with every value, in order.
func (l *varintList) each(fn func(int64)) {
	for _, b := range l.blocks {
		for len(b) > 0 {
			v, k := binary.Varint(b)
			fn(v)
			b = b[k:]
		}
	}
}
