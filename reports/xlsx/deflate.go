package xlsx

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// deflateBlock is how much input each parallel deflate job compresses.
const deflateBlock = 1 << 20

// newDeflater returns the zip entries' compressor: compress/flate at
// level, spread over the available CPUs when there are several. Deflating
// the detail sheets is about half the renderer's work and comes after every
// row is written, when the other CPUs are idle.
func newDeflater(out io.Writer, level int) (io.WriteCloser, error) {
	return newDeflaterN(out, level, runtime.GOMAXPROCS(0))
}

// newDeflaterN is newDeflater compressing up to workers blocks at once.
func newDeflaterN(out io.Writer, level, workers int) (io.WriteCloser, error) {
	if workers < 2 {
		return flate.NewWriter(out, level)
	}
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return nil, fmt.Errorf("deflate level %d outside [%d, %d]", level, flate.HuffmanOnly, flate.BestCompression)
	}
	p := &parallelDeflate{out: out, level: level, sem: make(chan struct{}, workers),
		queue: make(chan *deflateJob, workers), done: make(chan struct{})}
	go p.writeOut()
	return p, nil
}

// parallelDeflate compresses its input in independent blocks, as pigz
// does: each block but the last ends with a sync flush (byte-aligned, not
// final), so the concatenated outputs form one valid deflate stream. Blocks
// share no history, which costs well under 1% of compression at 1 MiB.
// Memory: at most workers blocks in flight, each 1 MiB of input, its
// output and a ~1 MB compressor.
type parallelDeflate struct {
	out   io.Writer
	level int
	cur   *deflateJob      // the block being filled
	sem   chan struct{}    // bounds the jobs in flight
	queue chan *deflateJob // jobs in input order, for writeOut
	done  chan struct{}    // closed when writeOut returns

	mu  sync.Mutex
	err error
}

// deflateJob is one block and its compressed form.
type deflateJob struct {
	in    []byte
	last  bool
	out   bytes.Buffer
	err   error
	ready chan struct{}
}

// jobPool recycles blocks and their output buffers across entries;
// flatePools recycle compressors per level, HuffmanOnly (-2) to
// BestCompression (9).
var (
	jobPool    = sync.Pool{New: func() any { return &deflateJob{in: make([]byte, 0, deflateBlock)} }}
	flatePools [flate.BestCompression - flate.HuffmanOnly + 1]sync.Pool
)

// Write implements io.Writer.
func (p *parallelDeflate) Write(b []byte) (int, error) {
	if err := p.failed(); err != nil {
		return 0, err
	}
	n := len(b)
	for len(b) > 0 {
		if p.cur == nil {
			p.cur = newJob()
		}
		k := min(len(b), deflateBlock-len(p.cur.in))
		p.cur.in, b = append(p.cur.in, b[:k]...), b[k:]
		if len(p.cur.in) == deflateBlock {
			p.submit(false)
		}
	}
	return n, nil
}

// Close compresses what is left, ends the stream and waits for the output.
func (p *parallelDeflate) Close() error {
	if p.cur == nil {
		p.cur = newJob()
	}
	p.submit(true)
	close(p.queue)
	<-p.done
	return p.failed()
}

// newJob returns an empty job from the pool.
func newJob() *deflateJob {
	j := jobPool.Get().(*deflateJob)
	j.in, j.last, j.err, j.ready = j.in[:0], false, nil, make(chan struct{})
	j.out.Reset()
	return j
}

// submit starts compressing the current block.
func (p *parallelDeflate) submit(last bool) {
	j := p.cur
	p.cur, j.last = nil, last
	p.sem <- struct{}{}
	go j.run(p.level)
	p.queue <- j
}

// run compresses the job's block.
func (j *deflateJob) run(level int) {
	defer close(j.ready)
	pool := &flatePools[level-flate.HuffmanOnly]
	w, ok := pool.Get().(*flate.Writer)
	if ok {
		w.Reset(&j.out)
	} else if w, j.err = flate.NewWriter(&j.out, level); j.err != nil {
		return
	}
	defer pool.Put(w)
	if _, j.err = w.Write(j.in); j.err != nil {
		return
	}
	if j.last {
		j.err = w.Close()
	} else {
		j.err = w.Flush()
	}
}

// writeOut writes the compressed blocks in order.
func (p *parallelDeflate) writeOut() {
	defer close(p.done)
	for j := range p.queue {
		<-j.ready
		err := j.err
		if err == nil && p.failed() == nil {
			_, err = p.out.Write(j.out.Bytes())
		}
		if err != nil {
			p.fail(err)
		}
		jobPool.Put(j)
		<-p.sem
	}
}

// failed returns the first error met, if any.
func (p *parallelDeflate) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// fail records err unless an error is already recorded.
func (p *parallelDeflate) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
}
