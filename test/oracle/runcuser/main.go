// Command runcuser resolves container USER strings exactly as runc does: the oracle of
// oci-scan's user-resolution parity test (docs/security.md, "Runtime parity").
//
// runc (libcontainer/init_linux.go) and Docker (daemon/oci_linux.go getUser) call
// github.com/opencontainers/runc/libcontainer/user GetExecUser(USER, nil, /etc/passwd,
// /etc/group) on the container's files; runcuser calls the same function, built from
// Debian's golang-github-opencontainers-runc-dev in GOPATH mode, on in-memory readers (which
// read as a regular file does: full reads, then io.EOF).
//
// Input: one JSON object a line on stdin,
//
//	{"user":"<hex of the USER bytes>","passwd":"<hex>"|null,"group":"<hex>"|null}
//
// where null means the file does not exist (GetExecUserPath passes a nil reader then).
// Output: one JSON line per input line, in order,
//
//	{"uid":"<decimal>","gid":"<decimal>","error":null} or {"error":"<kind>: <message>"}
//
// with uid and gid as Go ints (before any 32-bit truncation) and the error kind one of
// user-not-found, group-not-found, range, passwd-unreadable, other.
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/opencontainers/runc/libcontainer/user"
)

type request struct {
	User   string  `json:"user"`
	Passwd *string `json:"passwd"`
	Group  *string `json:"group"`
}

type answer struct {
	UID   *string `json:"uid,omitempty"`
	GID   *string `json:"gid,omitempty"`
	Error *string `json:"error"`
}

func reader(h *string) (io.Reader, error) {
	if h == nil {
		return nil, nil
	}
	b, err := hex.DecodeString(*h)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

func kind(err error) string {
	switch {
	case errors.Is(err, user.ErrNoPasswdEntries):
		return "user-not-found"
	case errors.Is(err, user.ErrNoGroupEntries):
		return "group-not-found"
	case errors.Is(err, user.ErrRange):
		return "range"
	case errors.Is(err, bufio.ErrTooLong):
		return "passwd-unreadable"
	default:
		return "other"
	}
}

func resolve(line []byte) (answer, error) {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return answer{}, err
	}
	spec, err := hex.DecodeString(req.User)
	if err != nil {
		return answer{}, err
	}
	passwd, err := reader(req.Passwd)
	if err != nil {
		return answer{}, err
	}
	group, err := reader(req.Group)
	if err != nil {
		return answer{}, err
	}
	// GetExecUser takes io.Readers: a nil *bytes.Reader must stay a nil interface.
	var p, g io.Reader
	if passwd != nil {
		p = passwd
	}
	if group != nil {
		g = group
	}
	u, err := user.GetExecUser(string(spec), nil, p, g)
	if err != nil {
		msg := kind(err) + ": " + err.Error()
		return answer{Error: &msg}, nil
	}
	uid, gid := strconv.Itoa(u.Uid), strconv.Itoa(u.Gid)
	return answer{UID: &uid, GID: &gid}, nil
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	enc := json.NewEncoder(out)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			a, perr := resolve(line)
			if perr != nil {
				fmt.Fprintf(os.Stderr, "runcuser: bad request: %v\n", perr)
				os.Exit(2)
			}
			if eerr := enc.Encode(a); eerr != nil {
				fmt.Fprintf(os.Stderr, "runcuser: %v\n", eerr)
				os.Exit(2)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "runcuser: %v\n", err)
			os.Exit(2)
		}
		// Flush once no more input is waiting, so a caller waiting on its answers gets them.
		if in.Buffered() == 0 {
			if ferr := out.Flush(); ferr != nil {
				os.Exit(2)
			}
		}
	}
	_ = out.Flush()
}
