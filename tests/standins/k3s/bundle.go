package main

// The binaries this k3s carries, as k3s carries its own: containerd and containerd-shim-runc-v2 (built from
// the containerd Go module by build.py and gzipped into bundle/) are extracted at start into
// <data-dir>/data/<hash>/bin, with data/current pointing there, as k3s lays out its data directory.
// runc and the CNI plugins are Debian's (k3s bundles its own builds of them); they are linked in from
// the node's packages so that the paths k3s's configs use hold them.

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed bundle
var bundle embed.FS

const debianCNIDir = "/usr/lib/cni"

var cniPlugins = []string{"bridge", "host-local", "loopback", "portmap"}

func bundleHash() (string, error) {
	sum := sha256.New()
	names, err := fs.Glob(bundle, "bundle/*.gz")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := bundle.ReadFile(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(sum, "%s %d\n", name, len(data))
		sum.Write(data)
	}
	return hex.EncodeToString(sum.Sum(nil))[:16], nil
}

// extractBundle lays out <dataDir>/data/<hash>/bin and points data/current at it; returns the bin path.
func extractBundle(dataDir string) (string, error) {
	hash, err := bundleHash()
	if err != nil {
		return "", err
	}
	dataRoot := filepath.Join(dataDir, "data")
	target := filepath.Join(dataRoot, hash)
	bin := filepath.Join(target, "bin")
	if _, err := os.Stat(filepath.Join(target, ".complete")); err != nil {
		if err := os.MkdirAll(bin, 0o755); err != nil {
			return "", err
		}
		names, _ := fs.Glob(bundle, "bundle/*.gz")
		if len(names) == 0 {
			return "", fmt.Errorf("this k3s stand-in was built without its containerd bundle (run build.py)")
		}
		for _, name := range names {
			if err := extractOne(name, filepath.Join(bin, strings.TrimSuffix(filepath.Base(name), ".gz"))); err != nil {
				return "", err
			}
		}
		if err := os.WriteFile(filepath.Join(target, ".complete"), nil, 0o644); err != nil {
			return "", err
		}
		logf("extracted the bundled binaries to %s", bin)
	}
	for _, plugin := range cniPlugins {
		source := filepath.Join(debianCNIDir, plugin)
		if _, err := os.Stat(source); err != nil {
			return "", fmt.Errorf("CNI plugin %s is missing: the k3s stand-in uses Debian's CNI plugins where k3s "+
				"bundles its own (apt-get install containernetworking-plugins)", source)
		}
		if err := replaceSymlink(source, filepath.Join(bin, plugin)); err != nil {
			return "", err
		}
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return "", fmt.Errorf("runc is missing: the k3s stand-in uses Debian's runc where k3s bundles its own " +
			"(apt-get install runc)")
	}
	if err := replaceSymlink(hash, filepath.Join(dataRoot, "current")); err != nil {
		return "", err
	}
	return bin, nil
}

func extractOne(name, path string) error {
	data, err := bundle.ReadFile(name)
	if err != nil {
		return err
	}
	reader, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, reader); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func replaceSymlink(target, link string) error {
	if current, err := os.Readlink(link); err == nil && current == target {
		return nil
	}
	tmp := link + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}
