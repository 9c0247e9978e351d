// Command refname reads the image name an OCI layout's index.json entry records
// (org.opencontainers.image.ref.name, or containerd's io.containerd.image.name) the way the
// runtimes that import layouts read it: the oracle of oci-scan's ref-name parity test
// (docs/security.md, "Runtime parity").
//
//   - containerd (`ctr images import`, and Docker and nerdctl on containerd's image store):
//     images/archive refTranslator — a name holding '/', ':' or '@' is a full reference,
//     anything else a tag put after the import prefix — then reference/docker ParseDockerRef,
//     which every client applies to the stored name (a digest wins over a tag; no tag is
//     latest).
//   - podman (`podman load`, containers/common libimage NormalizeName, which Debian does not
//     package): containers/image's docker/reference Parse, then a tagged and digested name
//     keeps its digest only, and a name with neither is tagged latest.
//
// Built from Debian's golang-github-containerd-containerd-dev and
// golang-github-containers-image-dev in GOPATH mode. Input: one JSON object a line,
// {"name":"..."}; output, one line each: {"containerd":{"name","tag","digest","error"},
// "podman":{"tag","digest","error"}} (empty strings for what is not there).
package main

import (
	"bufio"
	"bytes"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/containerd/containerd/images/archive"
	distref "github.com/containerd/containerd/reference/docker"
	"github.com/containers/image/v5/docker/reference"
)

type reading struct {
	Name   string `json:"name,omitempty"`
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
	Error  string `json:"error"`
}

type answer struct {
	Containerd reading `json:"containerd"`
	Podman     reading `json:"podman"`
}

func containerd(refName string) reading {
	// ctr images import without --base-name: AddRefPrefix("import-<date>").
	name := archive.AddRefPrefix("import-2006-01-02")(refName)
	r := reading{Name: name}
	named, err := distref.ParseDockerRef(name)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if d, ok := named.(distref.Digested); ok {
		r.Digest = d.Digest().String()
	} else if t, ok := named.(distref.Tagged); ok {
		r.Tag = t.Tag()
	}
	return r
}

func podman(refName string) reading {
	var r reading
	ref, err := reference.Parse(refName)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if _, ok := ref.(reference.Named); !ok {
		r.Error = "not a named reference"
		return r
	}
	// NormalizeName: a tagged and digested name keeps the digest; neither is latest.
	if d, ok := ref.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	} else if t, ok := ref.(reference.Tagged); ok {
		r.Tag = t.Tag()
	} else {
		r.Tag = "latest"
	}
	return r
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req struct {
				Name string `json:"name"`
			}
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				fmt.Fprintf(os.Stderr, "refname: bad request: %v\n", jerr)
				os.Exit(2)
			}
			if eerr := enc.Encode(answer{Containerd: containerd(req.Name), Podman: podman(req.Name)}); eerr != nil {
				os.Exit(2)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "refname: %v\n", err)
			os.Exit(2)
		}
		if in.Buffered() == 0 {
			if ferr := out.Flush(); ferr != nil {
				os.Exit(2)
			}
		}
	}
	_ = out.Flush()
}
