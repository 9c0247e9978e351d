// Command gojson decodes image documents with the container runtimes' own Go code, the oracle
// of oci-scan's JSON-parity tests (docs/security.md "Runtime parity", test/fuzz/json-differential.test.ts).
//
// Built in GOPATH mode from Debian's packaged sources (/work/shared/GO-ORACLES.md): image-spec's
// v1 structs (containerd, Kubernetes, podman's runtime settings), containers/image's manifest
// package (podman, skopeo), docker/distribution's manifest types and docker's
// api/types/container.Config (the docker daemon), containerd's platforms matcher. Docker's own
// image package (image.Image, tarexport's manifestItem) imports docker/docker/layer, which
// Debian's golang-github-docker-docker-dev does not ship, so those two structs are copied here
// verbatim with their field types resolved (layer.DiffID and image.ID are string types).
//
// Input (stdin): frames of one kind byte, a 2-byte big-endian media type length and the media
// type, a 4-byte big-endian document length and the document. Kinds: 'c' config, 'm' manifest,
// 'i' index (a registry's), 'l' an OCI layout's index.json, 'a' a docker archive's
// manifest.json, 'r' its repositories file. Output: one JSON line per frame, {"views": {name:
// report or null}}, null where that runtime refuses the document.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/containerd/containerd/platforms"
	cimagetar "github.com/containers/image/v5/docker/tarfile"
	cimage "github.com/containers/image/v5/manifest"
	"github.com/docker/distribution"
	"github.com/docker/distribution/manifest/manifestlist"
	"github.com/docker/distribution/manifest/ocischema"
	"github.com/docker/distribution/manifest/schema2"
	"github.com/docker/docker/api/types/container"
	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// ---- docker's image.Image (github.com/docker/docker/image/image.go, 20.10.24), copied.

type dockerV1Image struct {
	ID              string            `json:"id,omitempty"`
	Parent          string            `json:"parent,omitempty"`
	Comment         string            `json:"comment,omitempty"`
	Created         time.Time         `json:"created"`
	Container       string            `json:"container,omitempty"`
	ContainerConfig container.Config  `json:"container_config,omitempty"`
	DockerVersion   string            `json:"docker_version,omitempty"`
	Author          string            `json:"author,omitempty"`
	Config          *container.Config `json:"config,omitempty"`
	Architecture    string            `json:"architecture,omitempty"`
	Variant         string            `json:"variant,omitempty"`
	OS              string            `json:"os,omitempty"`
	Size            int64             `json:",omitempty"`
}

type dockerRootFS struct {
	Type    string          `json:"type"`
	DiffIDs []digest.Digest `json:"diff_ids,omitempty"` // []layer.DiffID
}

type dockerHistory struct {
	Created    time.Time `json:"created"`
	Author     string    `json:"author,omitempty"`
	CreatedBy  string    `json:"created_by,omitempty"`
	Comment    string    `json:"comment,omitempty"`
	EmptyLayer bool      `json:"empty_layer,omitempty"`
}

type dockerImage struct {
	dockerV1Image
	Parent     digest.Digest   `json:"parent,omitempty"` // image.ID
	RootFS     *dockerRootFS   `json:"rootfs,omitempty"`
	History    []dockerHistory `json:"history,omitempty"`
	OSVersion  string          `json:"os.version,omitempty"`
	OSFeatures []string        `json:"os.features,omitempty"`
}

// ---- docker's tarexport.manifestItem (image/tarexport/tarexport.go), copied.

type dockerManifestItem struct {
	Config       string
	RepoTags     []string
	Layers       []string
	Parent       digest.Digest                             `json:",omitempty"` // image.ID
	LayerSources map[digest.Digest]distribution.Descriptor `json:",omitempty"` // map[layer.DiffID]
}

// ---- containerd's import (images/archive/importer.go: ImportIndex's mfsts), copied.

type containerdManifestItem struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// ---- Reports: the fields the checks and the resolver read, the same for every view.

type health struct {
	Test        []string `json:"test"`
	Interval    string   `json:"interval"`
	Timeout     string   `json:"timeout"`
	StartPeriod string   `json:"startPeriod"`
	Retries     string   `json:"retries"`
}

type historyEntry struct {
	CreatedBy  string `json:"created_by"`
	Author     string `json:"author"`
	Comment    string `json:"comment"`
	EmptyLayer bool   `json:"empty_layer"`
}

type configReport struct {
	HasConfig    bool              `json:"hasConfig"`
	User         string            `json:"user"`
	ExposedPorts []string          `json:"exposedPorts"`
	Labels       map[string]string `json:"labels"`
	Entrypoint   []string          `json:"entrypoint"`
	Cmd          []string          `json:"cmd"`
	Env          []string          `json:"env"`
	Volumes      []string          `json:"volumes"`
	WorkingDir   string            `json:"workingDir"`
	Healthcheck  *health           `json:"healthcheck"`
	History      []historyEntry    `json:"history"`
	HasRootFS    bool              `json:"hasRootfs"`
	RootFSType   string            `json:"rootfsType"`
	DiffIDs      []string          `json:"diffIds"`
	OS           string            `json:"os"`
	Architecture string            `json:"architecture"`
	Variant      string            `json:"variant"`
}

type platformReport struct {
	OS         string   `json:"os"`
	Arch       string   `json:"architecture"`
	Variant    string   `json:"variant"`
	OSVersion  string   `json:"osVersion"`
	OSFeatures []string `json:"osFeatures"`
}

type descReport struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        string            `json:"size"`
	URLs        []string          `json:"urls"`
	Annotations map[string]string `json:"annotations"`
	Platform    *platformReport   `json:"platform"`
}

type manifestReport struct {
	SchemaVersion string            `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        descReport        `json:"config"`
	Layers        []descReport      `json:"layers"`
	Annotations   map[string]string `json:"annotations"`
}

type indexReport struct {
	SchemaVersion string            `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Manifests     []descReport      `json:"manifests"`
	Annotations   map[string]string `json:"annotations"`
	// Chosen: for each platform, the entries containerd's images.Manifest would try, in order
	// (index positions): those whose platform Only(p) matches, best first (stable), then those
	// with no platform.
	Chosen map[string][]int `json:"chosen"`
}

type itemReport struct {
	Config       string                `json:"config"`
	RepoTags     []string              `json:"repoTags"`
	Layers       []string              `json:"layers"`
	LayerSources map[string]descReport `json:"layerSources"`
}

type archiveReport struct {
	Items []itemReport `json:"items"`
}

type reposReport struct {
	Repos map[string]map[string]string `json:"repos"`
}

func keys(m map[string]struct{}) []string {
	if m == nil {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func digests(d []digest.Digest) []string {
	if d == nil {
		return nil
	}
	out := make([]string, len(d))
	for i, x := range d {
		out[i] = string(x)
	}
	return out
}

func ociConfig(img *imgspecv1.Image) *configReport {
	c := img.Config
	r := &configReport{HasConfig: true, User: c.User, ExposedPorts: keys(c.ExposedPorts), Labels: c.Labels, Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env,
		Volumes: keys(c.Volumes), WorkingDir: c.WorkingDir, HasRootFS: true, RootFSType: img.RootFS.Type, DiffIDs: digests(img.RootFS.DiffIDs),
		OS: img.OS, Architecture: img.Architecture, Variant: img.Variant}
	if img.History != nil {
		r.History = []historyEntry{}
		for _, h := range img.History {
			r.History = append(r.History, historyEntry{h.CreatedBy, h.Author, h.Comment, h.EmptyLayer})
		}
	}
	return r
}

func portKeys[K ~string](m map[K]struct{}) []string {
	if m == nil {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

func dockerConfig(img *dockerImage) *configReport {
	r := &configReport{OS: img.OS, Architecture: img.Architecture, Variant: img.Variant}
	if c := img.Config; c != nil {
		r.HasConfig = true
		r.User, r.ExposedPorts, r.Labels, r.Entrypoint, r.Cmd, r.Env = c.User, portKeys(c.ExposedPorts), c.Labels, c.Entrypoint, c.Cmd, c.Env
		r.Volumes, r.WorkingDir = keys(c.Volumes), c.WorkingDir
		if h := c.Healthcheck; h != nil {
			r.Healthcheck = &health{h.Test, strconv.FormatInt(int64(h.Interval), 10), strconv.FormatInt(int64(h.Timeout), 10), strconv.FormatInt(int64(h.StartPeriod), 10), strconv.Itoa(h.Retries)}
		}
	}
	if img.RootFS != nil {
		r.HasRootFS, r.RootFSType, r.DiffIDs = true, img.RootFS.Type, digests(img.RootFS.DiffIDs)
	}
	if img.History != nil {
		r.History = []historyEntry{}
		for _, h := range img.History {
			r.History = append(r.History, historyEntry{h.CreatedBy, h.Author, h.Comment, h.EmptyLayer})
		}
	}
	return r
}

func schema2Config(img *cimage.Schema2Image) *configReport {
	r := &configReport{OS: img.OS, Architecture: img.Architecture, Variant: img.Variant}
	if c := img.Config; c != nil {
		r.HasConfig = true
		r.User, r.ExposedPorts, r.Labels, r.Entrypoint, r.Cmd, r.Env = c.User, portKeys(c.ExposedPorts), c.Labels, c.Entrypoint, c.Cmd, c.Env
		r.Volumes, r.WorkingDir = keys(c.Volumes), c.WorkingDir
		if h := c.Healthcheck; h != nil {
			r.Healthcheck = &health{h.Test, strconv.FormatInt(int64(h.Interval), 10), strconv.FormatInt(int64(h.Timeout), 10), strconv.FormatInt(int64(h.StartPeriod), 10), strconv.Itoa(h.Retries)}
		}
	}
	if img.RootFS != nil {
		r.HasRootFS, r.RootFSType, r.DiffIDs = true, img.RootFS.Type, digests(img.RootFS.DiffIDs)
	}
	if img.History != nil {
		r.History = []historyEntry{}
		for _, h := range img.History {
			r.History = append(r.History, historyEntry{h.CreatedBy, h.Author, h.Comment, h.EmptyLayer})
		}
	}
	return r
}

func configViews(doc []byte) map[string]any {
	views := map[string]any{"oci": nil, "schema2": nil, "docker": nil}
	var oci imgspecv1.Image
	if json.Unmarshal(doc, &oci) == nil {
		views["oci"] = ociConfig(&oci)
	}
	var s2 cimage.Schema2Image
	if json.Unmarshal(doc, &s2) == nil {
		views["schema2"] = schema2Config(&s2)
	}
	// image.NewFromJSON: Unmarshal, then "invalid image JSON, no RootFS key" when RootFS is nil.
	var d dockerImage
	if json.Unmarshal(doc, &d) == nil && d.RootFS != nil {
		views["docker"] = dockerConfig(&d)
	}
	return views
}

func ociPlatform(p *imgspecv1.Platform) *platformReport {
	if p == nil {
		return nil
	}
	return &platformReport{p.OS, p.Architecture, p.Variant, p.OSVersion, p.OSFeatures}
}

func ociDesc(d imgspecv1.Descriptor) descReport {
	return descReport{d.MediaType, string(d.Digest), strconv.FormatInt(d.Size, 10), d.URLs, d.Annotations, ociPlatform(d.Platform)}
}

func distDesc(d distribution.Descriptor) descReport {
	return descReport{d.MediaType, string(d.Digest), strconv.FormatInt(d.Size, 10), d.URLs, d.Annotations, ociPlatform(d.Platform)}
}

func s2Desc(d cimage.Schema2Descriptor) descReport {
	return descReport{MediaType: d.MediaType, Digest: string(d.Digest), Size: strconv.FormatInt(d.Size, 10), URLs: d.URLs}
}

func ociManifest(m *imgspecv1.Manifest) *manifestReport {
	r := &manifestReport{strconv.Itoa(m.SchemaVersion), m.MediaType, ociDesc(m.Config), nil, m.Annotations}
	if m.Layers != nil {
		r.Layers = []descReport{}
		for _, l := range m.Layers {
			r.Layers = append(r.Layers, ociDesc(l))
		}
	}
	return r
}

func distManifest(v int, mt string, config distribution.Descriptor, layers []distribution.Descriptor, ann map[string]string) *manifestReport {
	r := &manifestReport{strconv.Itoa(v), mt, distDesc(config), nil, ann}
	if layers != nil {
		r.Layers = []descReport{}
		for _, l := range layers {
			r.Layers = append(r.Layers, distDesc(l))
		}
	}
	return r
}

func manifestViews(doc []byte, mime string) map[string]any {
	views := map[string]any{"oci": nil, "docker": nil, "cimage": nil}
	var oci imgspecv1.Manifest
	if json.Unmarshal(doc, &oci) == nil {
		views["oci"] = ociManifest(&oci)
	}
	// The docker daemon: docker/distribution's UnmarshalManifest for the Content-Type.
	if m, _, err := distribution.UnmarshalManifest(mime, doc); err == nil {
		switch x := m.(type) {
		case *ocischema.DeserializedManifest:
			views["docker"] = distManifest(x.SchemaVersion, x.MediaType, x.Config, x.Layers, x.Annotations)
		case *schema2.DeserializedManifest:
			views["docker"] = distManifest(x.SchemaVersion, x.MediaType, x.Config, x.Layers, nil)
		}
	}
	if mime == schema2.MediaTypeManifest {
		if s2, err := cimage.Schema2FromManifest(doc); err == nil {
			r := &manifestReport{SchemaVersion: strconv.Itoa(s2.SchemaVersion), MediaType: s2.MediaType, Config: s2Desc(s2.ConfigDescriptor)}
			if s2.LayersDescriptors != nil {
				r.Layers = []descReport{}
				for _, l := range s2.LayersDescriptors {
					r.Layers = append(r.Layers, s2Desc(l))
				}
			}
			views["cimage"] = r
		}
	} else if o, err := cimage.OCI1FromManifest(doc); err == nil {
		views["cimage"] = ociManifest(&o.Manifest)
	}
	return views
}

var wanted = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/386"}

// chosen is containerd's images.Manifest choice over an index's entries (platform nil: any).
func chosen(plats []*imgspecv1.Platform) map[string][]int {
	out := map[string][]int{}
	for _, w := range wanted {
		p, err := platforms.Parse(w)
		if err != nil {
			panic(err)
		}
		m := platforms.Only(p)
		idx := []int{}
		for i, pl := range plats {
			if pl == nil || m.Match(*pl) {
				idx = append(idx, i)
			}
		}
		sort.SliceStable(idx, func(a, b int) bool {
			pa, pb := plats[idx[a]], plats[idx[b]]
			if pa == nil {
				return false
			}
			if pb == nil {
				return true
			}
			return m.Less(*pa, *pb)
		})
		out[w] = idx
	}
	return out
}

func ociIndex(x *imgspecv1.Index) *indexReport {
	r := &indexReport{SchemaVersion: strconv.Itoa(x.SchemaVersion), MediaType: x.MediaType, Annotations: x.Annotations}
	var plats []*imgspecv1.Platform
	if x.Manifests != nil {
		r.Manifests = []descReport{}
		for _, d := range x.Manifests {
			r.Manifests = append(r.Manifests, ociDesc(d))
			plats = append(plats, d.Platform)
		}
	}
	r.Chosen = chosen(plats)
	return r
}

func listPlatform(os, arch, variant, osVersion string, osFeatures []string) *imgspecv1.Platform {
	return &imgspecv1.Platform{OS: os, Architecture: arch, Variant: variant, OSVersion: osVersion, OSFeatures: osFeatures}
}

func indexViews(doc []byte, mime string) map[string]any {
	views := map[string]any{"oci": nil, "docker": nil, "cimage": nil}
	var oci imgspecv1.Index
	if json.Unmarshal(doc, &oci) == nil {
		views["oci"] = ociIndex(&oci)
	}
	if m, _, err := distribution.UnmarshalManifest(mime, doc); err == nil {
		if x, ok := m.(*manifestlist.DeserializedManifestList); ok {
			r := &indexReport{SchemaVersion: strconv.Itoa(x.SchemaVersion), MediaType: x.MediaType}
			var plats []*imgspecv1.Platform
			if x.Manifests != nil {
				r.Manifests = []descReport{}
				for _, d := range x.Manifests {
					p := listPlatform(d.Platform.OS, d.Platform.Architecture, d.Platform.Variant, d.Platform.OSVersion, d.Platform.OSFeatures)
					dr := distDesc(d.Descriptor)
					dr.Platform = ociPlatform(p)
					r.Manifests = append(r.Manifests, dr)
					plats = append(plats, p)
				}
			}
			r.Chosen = chosen(plats)
			views["docker"] = r
		}
	}
	if l, err := cimage.ListFromBlob(doc, mime); err == nil {
		switch x := l.(type) {
		case *cimage.OCI1Index:
			views["cimage"] = ociIndex(&x.Index)
		case *cimage.Schema2List:
			r := &indexReport{SchemaVersion: strconv.Itoa(x.SchemaVersion), MediaType: x.MediaType}
			var plats []*imgspecv1.Platform
			if x.Manifests != nil {
				r.Manifests = []descReport{}
				for _, d := range x.Manifests {
					p := listPlatform(d.Platform.OS, d.Platform.Architecture, d.Platform.Variant, d.Platform.OSVersion, d.Platform.OSFeatures)
					dr := s2Desc(d.Schema2Descriptor)
					dr.Platform = ociPlatform(p)
					r.Manifests = append(r.Manifests, dr)
					plats = append(plats, p)
				}
			}
			r.Chosen = chosen(plats)
			views["cimage"] = r
		}
	}
	return views
}

func layoutViews(doc []byte) map[string]any {
	views := map[string]any{"cimage": nil, "containerd": nil}
	// containers/image's oci layout: json.Unmarshal into v1.Index.
	var a imgspecv1.Index
	if json.Unmarshal(doc, &a) == nil {
		views["cimage"] = ociIndex(&a)
	}
	// containerd's import (onUntarJSON): json.NewDecoder(r).Decode.
	var b imgspecv1.Index
	if json.NewDecoder(bytes.NewReader(doc)).Decode(&b) == nil {
		views["containerd"] = ociIndex(&b)
	}
	return views
}

func archiveViews(doc []byte) map[string]any {
	views := map[string]any{"docker": nil, "cimage": nil, "containerd": nil}
	var d []dockerManifestItem
	if json.NewDecoder(bytes.NewReader(doc)).Decode(&d) == nil {
		r := &archiveReport{}
		if d != nil {
			r.Items = []itemReport{}
			for _, it := range d {
				ir := itemReport{Config: it.Config, RepoTags: it.RepoTags, Layers: it.Layers}
				if it.LayerSources != nil {
					ir.LayerSources = map[string]descReport{}
					for k, v := range it.LayerSources {
						ir.LayerSources[string(k)] = distDesc(v)
					}
				}
				r.Items = append(r.Items, ir)
			}
		}
		views["docker"] = r
	}
	// containers/image's docker/internal/tarfile reader: json.Unmarshal into []ManifestItem.
	var c []cimagetar.ManifestItem
	if json.Unmarshal(doc, &c) == nil {
		r := &archiveReport{}
		if c != nil {
			r.Items = []itemReport{}
			for _, it := range c {
				ir := itemReport{Config: it.Config, RepoTags: it.RepoTags, Layers: it.Layers}
				if it.LayerSources != nil {
					ir.LayerSources = map[string]descReport{}
					for k, v := range it.LayerSources {
						ir.LayerSources[string(k)] = s2Desc(v)
					}
				}
				r.Items = append(r.Items, ir)
			}
		}
		views["cimage"] = r
	}
	var k []containerdManifestItem
	if json.NewDecoder(bytes.NewReader(doc)).Decode(&k) == nil {
		r := &archiveReport{}
		if k != nil {
			r.Items = []itemReport{}
			for _, it := range k {
				r.Items = append(r.Items, itemReport{Config: it.Config, RepoTags: it.RepoTags, Layers: it.Layers})
			}
		}
		views["containerd"] = r
	}
	return views
}

func repositoriesViews(doc []byte) map[string]any {
	views := map[string]any{"docker": nil}
	// docker's legacyLoad: make(map[string]map[string]string), then json.NewDecoder(f).Decode.
	repos := make(map[string]map[string]string)
	if json.NewDecoder(bytes.NewReader(doc)).Decode(&repos) == nil {
		views["docker"] = &reposReport{repos}
	}
	return views
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		var head [3]byte
		if _, err := io.ReadFull(in, head[:]); err != nil {
			if err == io.EOF {
				break
			}
			fail(err)
		}
		mime := make([]byte, binary.BigEndian.Uint16(head[1:]))
		if _, err := io.ReadFull(in, mime); err != nil {
			fail(err)
		}
		var size [4]byte
		if _, err := io.ReadFull(in, size[:]); err != nil {
			fail(err)
		}
		doc := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(in, doc); err != nil {
			fail(err)
		}
		var views map[string]any
		switch head[0] {
		case 'c':
			views = configViews(doc)
		case 'm':
			views = manifestViews(doc, string(mime))
		case 'i':
			views = indexViews(doc, string(mime))
		case 'l':
			views = layoutViews(doc)
		case 'a':
			views = archiveViews(doc)
		case 'r':
			views = repositoriesViews(doc)
		default:
			fail(fmt.Errorf("unknown kind %q", head[0]))
		}
		if err := enc.Encode(map[string]any{"views": views}); err != nil {
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
	fmt.Fprintln(os.Stderr, "gojson:", err)
	os.Exit(2)
}
