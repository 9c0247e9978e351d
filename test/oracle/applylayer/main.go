// Command applylayer applies layer tars as podman's storage drivers apply them, with
// containers/storage's own code (Debian golang-github-containers-storage-dev), and prints the
// resulting root filesystem: the oracle of test/fuzz/layer-differential.test.ts
// (docs/security.md, "Runtime parity").
//
//   - vfs: each layer through chrootarchive.ApplyUncompressedLayer (archive.UnpackLayer in a
//     chroot), onto one directory, as drivers/vfs (NaiveDiffDriver.ApplyDiff) does;
//   - overlay: each layer through chrootarchive.UntarUncompressed with the overlay whiteout
//     format into an empty directory of its own, as drivers/overlay's ApplyDiff does, then the
//     directories mounted as one read-only overlay (the kernel's overlayfs), as a container
//     sees them.
//
// Protocol (a long-lived process): on stdin, requests framed as an 8-byte big-endian length
// then a JSON object {"driver":"vfs"|"overlay","layers":["<base64 tar>",...]}; on stdout, one
// JSON line per request: {"error":null|"…","failedLayer":-1|n,"entries":[…]} with every path
// of the result (root excluded) in lexical order: type, mode & 07777, uid, gid, symlink
// target, regular-file content (base64), the security.capability xattr (hex) and an inode
// group id shared by hard links. Needs root (chroot, mknod, mount).
//
// Build (GOPATH mode, offline): GO111MODULE=off GOPATH=/usr/share/gocode go build -o applylayer .
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/containers/storage/pkg/archive"
	"github.com/containers/storage/pkg/chrootarchive"
	"github.com/containers/storage/pkg/reexec"
	"golang.org/x/sys/unix"
)

type request struct {
	Driver string   `json:"driver"`
	Layers []string `json:"layers"`
}

type entry struct {
	Path       string `json:"path"`
	Type       string `json:"type"`
	Mode       uint32 `json:"mode"`
	UID        uint32 `json:"uid"`
	GID        uint32 `json:"gid"`
	Target     string `json:"target,omitempty"`
	Content    string `json:"content,omitempty"`
	Capability string `json:"capability,omitempty"`
	Inode      int    `json:"inode"`
}

type response struct {
	Error       *string `json:"error"`
	FailedLayer int     `json:"failedLayer"`
	Entries     []entry `json:"entries"`
}

const maxRequest = 1 << 30
const maxContent = 1 << 20

func main() {
	// chrootarchive re-executes this binary to apply a layer inside a chroot.
	if reexec.Init() {
		return
	}
	in := bufio.NewReader(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for {
		var size [8]byte
		if _, err := io.ReadFull(in, size[:]); err != nil {
			if err == io.EOF {
				return
			}
			fatal(err)
		}
		n := binary.BigEndian.Uint64(size[:])
		if n > maxRequest {
			fatal(fmt.Errorf("request of %d bytes", n))
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(in, body); err != nil {
			fatal(err)
		}
		var req request
		if err := json.Unmarshal(body, &req); err != nil {
			fatal(err)
		}
		if err := out.Encode(apply(req)); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "applylayer:", err)
	os.Exit(2)
}

func failed(layer int, err error) response {
	msg := err.Error()
	return response{Error: &msg, FailedLayer: layer, Entries: []entry{}}
}

func apply(req request) response {
	work, err := os.MkdirTemp("", "applylayer-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(work)
	tars := make([][]byte, len(req.Layers))
	for i, l := range req.Layers {
		if tars[i], err = base64.StdEncoding.DecodeString(l); err != nil {
			fatal(err)
		}
	}
	switch req.Driver {
	case "vfs":
		root := filepath.Join(work, "root")
		if err := os.Mkdir(root, 0755); err != nil {
			fatal(err)
		}
		for i, t := range tars {
			if _, err := chrootarchive.ApplyUncompressedLayer(root, bytes.NewReader(t), &archive.TarOptions{}); err != nil {
				return failed(i, err)
			}
		}
		entries, err := list(root)
		if err != nil {
			fatal(err)
		}
		return response{FailedLayer: -1, Entries: entries}
	case "overlay":
		// The bottom of the stack is an empty directory: a read-only overlay needs two lower dirs.
		lowers := []string{}
		empty := filepath.Join(work, "empty")
		if err := os.Mkdir(empty, 0755); err != nil {
			fatal(err)
		}
		for i, t := range tars {
			diff := filepath.Join(work, fmt.Sprintf("diff%d", i))
			if err := os.Mkdir(diff, 0755); err != nil {
				fatal(err)
			}
			if err := chrootarchive.UntarUncompressed(bytes.NewReader(t), diff, &archive.TarOptions{WhiteoutFormat: archive.OverlayWhiteoutFormat}); err != nil {
				return failed(i, err)
			}
			lowers = append([]string{diff}, lowers...)
		}
		lowers = append(lowers, empty)
		merged := filepath.Join(work, "merged")
		if err := os.Mkdir(merged, 0755); err != nil {
			fatal(err)
		}
		opts := "lowerdir=" + join(lowers)
		if err := unix.Mount("overlay", merged, "overlay", unix.MS_RDONLY, opts); err != nil {
			fatal(fmt.Errorf("mount overlay: %w", err))
		}
		entries, err := list(merged)
		if uerr := unix.Unmount(merged, unix.MNT_DETACH); uerr != nil {
			fatal(fmt.Errorf("unmount overlay: %w", uerr))
		}
		if err != nil {
			fatal(err)
		}
		return response{FailedLayer: -1, Entries: entries}
	default:
		fatal(fmt.Errorf("unknown driver %q", req.Driver))
	}
	return response{}
}

func join(dirs []string) string {
	s := ""
	for i, d := range dirs {
		if i > 0 {
			s += ":"
		}
		s += d
	}
	return s
}

// list walks root without following symlinks and describes every path below it.
func list(root string) ([]entry, error) {
	inodes := map[uint64]int{}
	entries := []entry{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if path == root {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			// overlayfs lists a whiteout of a directory no lower layer merges with, but the
			// name cannot be looked up: nothing is there.
			if err == unix.ENOENT {
				return nil
			}
			return err
		}
		e := entry{Path: "/" + rel, Mode: st.Mode & 07777, UID: st.Uid, GID: st.Gid}
		id, seen := inodes[st.Ino]
		if !seen {
			id = len(inodes)
			inodes[st.Ino] = id
		}
		e.Inode = id
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			e.Type = "dir"
		case syscall.S_IFREG:
			e.Type = "file"
			if st.Size <= maxContent {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				e.Content = base64.StdEncoding.EncodeToString(b)
			}
		case syscall.S_IFLNK:
			e.Type = "symlink"
			t, err := os.Readlink(path)
			if err != nil {
				return err
			}
			e.Target = t
		case syscall.S_IFCHR:
			e.Type = "char-device"
		case syscall.S_IFBLK:
			e.Type = "block-device"
		case syscall.S_IFIFO:
			e.Type = "fifo"
		default:
			e.Type = "other"
		}
		buf := make([]byte, 64)
		if n, err := unix.Lgetxattr(path, "security.capability", buf); err == nil {
			e.Capability = hex.EncodeToString(buf[:n])
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return entries, nil
}
