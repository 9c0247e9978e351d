// Command tarlist lists tar archives exactly as Go's archive/tar reads them: the oracle of
// oci-scan's tar-parity tests (docs/security.md, "Tar parity with Go's archive/tar").
//
// Docker, containerd and podman read image layers with archive/tar: Next() for each header,
// then the entry's content copied out in full. tarlist does the same and prints, per archive,
// one JSON line:
//
//	{"entries":[{"name","nameHex","linkname","linknameHex","typeflag","mode","uid","gid","size","dataOffset","dataSize","sha256","nameUnstable"?}...],"error":"..."|null}
//
// name/linkname are Go strings (invalid UTF-8 shown as U+FFFD by encoding/json), the *Hex
// fields their exact bytes; typeflag is the flag byte as one character (U+0000..U+00FF); mode is
// Header.Mode & 07777; uid, gid and size are decimal strings (exact for any int64); dataOffset
// is where the entry's stored data begins in the archive and dataSize how many bytes are
// stored there (0 for header-only types; for sparse files, without the holes or a 1.0 map);
// sha256 is the digest of the content (holes read as zeros) when it is at most 16 MiB;
// nameUnstable marks the one case where Go's own answer is not deterministic. The entries
// before an error are listed; an entry whose content read failed is listed, then the error.
// A clean end (io.EOF from Next) is "error": null.
//
// Input: with file arguments, each file is one archive. Without arguments, stdin carries many
// archives, each framed as an 8-byte big-endian length and that many bytes; the output for
// each is written (and flushed once no more input is waiting) in order, so one process serves
// thousands of cases.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"unsafe"
)

// maxHashed is the largest content (logical size, holes included) tarlist hashes.
const maxHashed = 16 << 20

// maxArchive bounds one framed archive: the framing is ours, a larger length is a broken stream.
const maxArchive = 1 << 30

type entry struct {
	Name        string `json:"name"`
	NameHex     string `json:"nameHex"`
	Linkname    string `json:"linkname"`
	LinknameHex string `json:"linknameHex"`
	Typeflag    string `json:"typeflag"`
	Mode        int64  `json:"mode"`
	UID         string `json:"uid"`
	GID         string `json:"gid"`
	Size        string `json:"size"`
	DataOffset  string `json:"dataOffset"`
	DataSize    string `json:"dataSize"`
	// SHA256 is the hex digest of the content as Read returns it (holes as zeros), for entries
	// whose Size is at most maxHashed and whose content was read without error; else "".
	SHA256 string `json:"sha256"`
	// NameUnstable marks a 'g' header whose records Go failed to merge: mergePAX stops at the
	// first bad record while ranging over a map, so whether a "path" record was applied first
	// (and so the name) changes from run to run. Next() ignores that error and returns the header.
	NameUnstable bool `json:"nameUnstable,omitempty"`
}

type listing struct {
	Entries []entry `json:"entries"`
	Error   *string `json:"error"`
}

func main() {
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	if len(os.Args) > 1 {
		for _, file := range os.Args[1:] {
			data, err := os.ReadFile(file)
			if err != nil {
				fail(err)
			}
			if err := enc.Encode(list(data)); err != nil {
				fail(err)
			}
		}
		if err := out.Flush(); err != nil {
			fail(err)
		}
		return
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	for {
		var frame [8]byte
		if _, err := io.ReadFull(in, frame[:]); err != nil {
			if err == io.EOF {
				break
			}
			fail(fmt.Errorf("reading a frame length: %w", err))
		}
		n := binary.BigEndian.Uint64(frame[:])
		if n > maxArchive {
			fail(fmt.Errorf("frame of %d bytes is over the %d-byte limit", n, maxArchive))
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(in, data); err != nil {
			fail(fmt.Errorf("reading a %d-byte frame: %w", n, err))
		}
		if err := enc.Encode(list(data)); err != nil {
			fail(err)
		}
		if in.Buffered() == 0 {
			if err := out.Flush(); err != nil {
				fail(err)
			}
		}
	}
	if err := out.Flush(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tarlist:", err)
	os.Exit(2)
}

// list reads one archive as a runtime applying a layer does: every header, every content.
func list(data []byte) (l listing) {
	l.Entries = []entry{}
	defer func() {
		if p := recover(); p != nil {
			msg := fmt.Sprintf("panic: %v", p)
			l.Error = &msg
		}
	}()
	in := &countingReader{r: bytes.NewReader(data)}
	tr := tar.NewReader(in)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return l
		}
		if err != nil {
			msg := err.Error()
			l.Error = &msg
			return l
		}
		e := entry{
			Name:        hdr.Name,
			NameHex:     hex.EncodeToString([]byte(hdr.Name)),
			Linkname:    hdr.Linkname,
			LinknameHex: hex.EncodeToString([]byte(hdr.Linkname)),
			Typeflag:    string(rune(hdr.Typeflag)),
			Mode:        hdr.Mode & 07777,
			UID:         strconv.FormatInt(int64(hdr.Uid), 10),
			GID:         strconv.FormatInt(int64(hdr.Gid), 10),
			Size:        strconv.FormatInt(hdr.Size, 10),
			// archive/tar reads exactly the blocks it needs (no read-ahead), so after Next()
			// the bytes consumed are where the entry's stored data begins.
			DataOffset: strconv.FormatInt(in.n, 10),
			DataSize:   strconv.FormatInt(physicalRemaining(tr), 10),
			// A merged 'g' header always has non-nil PAXRecords (parsePAX makes the map).
			NameUnstable: hdr.Typeflag == tar.TypeXGlobalHeader && hdr.PAXRecords == nil,
		}
		var readErr error
		if hdr.Size >= 0 && hdr.Size <= maxHashed {
			h := sha256.New()
			if _, readErr = io.Copy(h, tr); readErr == nil {
				e.SHA256 = hex.EncodeToString(h.Sum(nil))
			}
		} else {
			readErr = drain(tr)
		}
		l.Entries = append(l.Entries, e)
		if readErr != nil {
			msg := readErr.Error()
			l.Error = &msg
			return l
		}
	}
}

// countingReader counts the bytes read through it; a bare io.Reader, because layers arrive
// through a decompressor, which cannot seek.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// drain reads the current entry's content to its end with tr.Read, as io.Copy(io.Discard, tr)
// does, and returns the error that copy would return.
//
// Why the hole skipping: a sparse entry's holes read as zero bytes, and a hostile header can
// declare a hole of 2^63 bytes that a plain copy would take years to read. Reading a hole
// consumes no input and cannot fail, so before each Read that would start inside a hole, the
// position of archive/tar's sparse reader is moved to the hole's last byte; that Read then
// crosses into the next fragment through the library's own code, which does every check.
func drain(tr *tar.Reader) error {
	buf := make([]byte, 64<<10)
	for {
		skipHole(tr)
		_, err := tr.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// physicalRemaining is the number of stored data bytes of the current entry still unread (its
// whole stored data right after Next), read from archive/tar's unexported regFileReader{r, nb}
// (behind a sparseFileReader{fr} for sparse entries); -1 if that layout is not found.
func physicalRemaining(tr *tar.Reader) int64 {
	p := reflect.ValueOf(tr).Elem().FieldByName("curr")
	for depth := 0; depth < 2; depth++ {
		if p.Kind() != reflect.Interface || p.IsNil() || p.Elem().Kind() != reflect.Pointer || p.Elem().Elem().Kind() != reflect.Struct {
			return -1
		}
		s := p.Elem().Elem()
		switch s.Type().Name() {
		case "regFileReader":
			if nb := s.FieldByName("nb"); nb.Kind() == reflect.Int64 {
				return nb.Int()
			}
			return -1
		case "sparseFileReader":
			p = s.FieldByName("fr")
		default:
			return -1
		}
	}
	return -1
}

// skipHole moves the sparse reader of tr (if the current entry is sparse) to the last byte of
// the hole it is in. It relies on the unexported layout of archive/tar's Reader.curr and
// sparseFileReader{fr, sp []sparseEntry{Offset, Length}, pos}, checked by name and kind here:
// if a Go release changes them, skipHole does nothing (and huge holes are slow, not wrong).
func skipHole(tr *tar.Reader) {
	curr := reflect.ValueOf(tr).Elem().FieldByName("curr")
	if curr.Kind() != reflect.Interface || curr.IsNil() {
		return
	}
	p := curr.Elem()
	if p.Kind() != reflect.Pointer || p.Elem().Kind() != reflect.Struct || p.Elem().Type().Name() != "sparseFileReader" {
		return
	}
	sr := p.Elem()
	pos, sp := sr.FieldByName("pos"), sr.FieldByName("sp")
	if pos.Kind() != reflect.Int64 || sp.Kind() != reflect.Slice || sp.Len() == 0 {
		return
	}
	hole := sp.Index(0)
	off, length := hole.FieldByName("Offset"), hole.FieldByName("Length")
	if off.Kind() != reflect.Int64 || length.Kind() != reflect.Int64 {
		return
	}
	start, end := off.Int(), off.Int()+length.Int()
	if at := pos.Int(); at >= start && at < end-1 {
		*(*int64)(unsafe.Pointer(pos.UnsafeAddr())) = end - 1
	}
}
