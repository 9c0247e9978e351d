// Command compressionoracle says which compression the container runtimes detect in a blob
// and what the blob decompresses to with their own decoders: the oracle of oci-scan's
// compression differential test (docs/architecture.md, "Decoders").
//
// For each blob it runs containers/image's pkg/compression.DetectCompressionFormat (podman,
// skopeo, buildah: gzip, bzip2, xz, zstd by magic bytes) and reads the returned decompressor to
// its end (pgzip, compress/bzip2, ulikunitz/xz, klauspost/compress/zstd); and containerd's
// archive/compression.DetectCompression (gzip, zstd, with skippable zstd frames), whose
// DecompressStream is read to its end when containerd sees a compression c/image does not.
// It prints one JSON line per blob:
//
//	{"image":"gzip"|"bzip2"|"xz"|"zstd"|"","containerd":"gzip"|"zstd"|"","sha256":"…","error":"…"|null,"containerdSha256":"…","containerdError":"…"|null}
//
// sha256 is the digest of the decompressed bytes (of the blob itself when nothing was
// detected); error is the decoder's error, if any (sha256 is then "").
//
// Input: stdin carries many blobs, each framed as an 8-byte big-endian length and that many
// bytes. Build in GOPATH mode against Debian's Go sources (test/helpers/compression-oracle.ts).
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	ctdcompression "github.com/containerd/containerd/archive/compression"
	"github.com/containers/image/v5/pkg/compression"
	"github.com/sirupsen/logrus"
)

// maxBlob bounds one framed blob: the framing is ours, a larger length is a broken stream.
const maxBlob = 1 << 30

type answer struct {
	Image            string  `json:"image"`
	Containerd       string  `json:"containerd"`
	SHA256           string  `json:"sha256"`
	Error            *string `json:"error"`
	ContainerdSHA256 string  `json:"containerdSha256"`
	ContainerdError  *string `json:"containerdError"`
}

func digest(r io.Reader) (string, *string) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		msg := err.Error()
		return "", &msg
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func judge(blob []byte) answer {
	var a answer
	algo, decompressor, rest, err := compression.DetectCompressionFormat(bytes.NewReader(blob))
	if err != nil {
		msg := err.Error()
		a.Error = &msg
	} else if decompressor == nil {
		a.SHA256, a.Error = digest(rest)
	} else {
		a.Image = algo.Name()
		d, err := decompressor(rest)
		if err != nil {
			msg := err.Error()
			a.Error = &msg
		} else {
			a.SHA256, a.Error = digest(d)
			d.Close()
		}
	}
	switch ctdcompression.DetectCompression(blob) {
	case ctdcompression.Gzip:
		a.Containerd = "gzip"
	case ctdcompression.Zstd:
		a.Containerd = "zstd"
	}
	if a.Containerd != "" && a.Containerd != a.Image {
		d, err := ctdcompression.DecompressStream(bytes.NewReader(blob))
		if err != nil {
			msg := err.Error()
			a.ContainerdError = &msg
		} else {
			a.ContainerdSHA256, a.ContainerdError = digest(d)
			d.Close()
		}
	}
	return a
}

func main() {
	logrus.SetLevel(logrus.PanicLevel)
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for {
		var frame [8]byte
		if _, err := io.ReadFull(in, frame[:]); err != nil {
			if err == io.EOF {
				out.Flush()
				return
			}
			fmt.Fprintln(os.Stderr, "compressionoracle: reading a frame:", err)
			os.Exit(2)
		}
		n := binary.BigEndian.Uint64(frame[:])
		if n > maxBlob {
			fmt.Fprintln(os.Stderr, "compressionoracle: frame too large:", n)
			os.Exit(2)
		}
		blob := make([]byte, n)
		if _, err := io.ReadFull(in, blob); err != nil {
			fmt.Fprintln(os.Stderr, "compressionoracle: reading a blob:", err)
			os.Exit(2)
		}
		if err := enc.Encode(judge(blob)); err != nil {
			fmt.Fprintln(os.Stderr, "compressionoracle:", err)
			os.Exit(2)
		}
		if in.Buffered() == 0 {
			out.Flush()
		}
	}
}
