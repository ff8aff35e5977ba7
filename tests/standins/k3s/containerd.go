package main

// containerd as k3s runs it: config.toml rendered at every start with Go's text/template, from the
// stand-in's base config (containerd/base-v2.toml.tmpl or base-v3.toml.tmpl, this project's own, modelled on
// what k3s renders) or from the admin's template (config-v3.toml.tmpl with containerd 2, config.toml.tmpl
// otherwise), which may pull the base in with {{ template "base" . }}; then containerd itself, built from
// its Go module and carried inside this binary, as a child process; then every image tarball in
// agent/images imported into its k8s.io namespace.

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/template"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/platforms"
	"github.com/klauspost/compress/zstd"
)

//go:embed containerd/base-v2.toml.tmpl containerd/base-v3.toml.tmpl
var baseTemplates embed.FS

const (
	containerdState  = "/run/k3s/containerd"
	containerdSocket = containerdState + "/containerd.sock"
	pauseImage       = "rancher/mirrored-pause:3.6"
)

// Runtimes k3s finds by executable name in PATH (a subset of its list: the NVIDIA ones and crun).
var detectedRuntimes = map[string]string{
	"nvidia":              "nvidia-container-runtime",
	"nvidia-experimental": "nvidia-container-runtime-experimental",
	"nvidia-cdi":          "nvidia-container-runtime.cdi",
	"crun":                "crun",
}

type runtimeSpec struct {
	RuntimeType string
	BinaryName  string
}

// containerdTemplateData is what the templates see; ExtraRuntimes and SystemdCgroup carry the names that
// k3s's own template data gives them, since admins' templates use those.
type containerdTemplateData struct {
	DataDir             string
	PauseImage          string
	SystemdCgroup       bool
	RuntimeCgroup       bool
	RestrictOOMScoreAdj bool
	DefaultRuntime      string
	ExtraRuntimes       map[string]runtimeSpec
}

func detectRuntimes() map[string]runtimeSpec {
	found := map[string]runtimeSpec{}
	for name, executable := range detectedRuntimes {
		if path, err := exec.LookPath(executable); err == nil {
			found[name] = runtimeSpec{RuntimeType: "io.containerd.runc.v2", BinaryName: path}
		}
	}
	return found
}

// chooseTemplate returns the admin template k3s VERSION reads (or "") and the config generation it renders.
func chooseTemplate(version, configDir string) (string, int) {
	v2 := filepath.Join(configDir, "config.toml.tmpl")
	v3 := filepath.Join(configDir, "config-v3.toml.tmpl")
	exists := func(path string) bool { _, err := os.Stat(path); return err == nil }
	if containerdMajor(version) == 2 {
		if exists(v3) {
			return v3, 3
		}
		// containerd 2 still reads version 2 configs, so k3s keeps rendering a legacy template
		if exists(v2) {
			return v2, 2
		}
		return "", 3
	}
	if exists(v2) {
		return v2, 2
	}
	return "", 2
}

func renderContainerdConfig(version, configDir string, data containerdTemplateData) (string, int, string, error) {
	if data.DefaultRuntime != "" && data.DefaultRuntime != "runc" {
		if _, ok := data.ExtraRuntimes[data.DefaultRuntime]; !ok {
			return "", 0, "", fmt.Errorf("default-runtime is %q but no such runtime was found in PATH; the k3s "+
				"stand-in refuses to render a config whose default runtime does not exist", data.DefaultRuntime)
		}
	}
	templatePath, generation := chooseTemplate(version, configDir)
	base, err := baseTemplates.ReadFile(fmt.Sprintf("containerd/base-v%d.toml.tmpl", generation))
	if err != nil {
		return "", 0, "", err
	}
	text := string(base)
	if templatePath != "" {
		admin, err := os.ReadFile(templatePath)
		if err != nil {
			return "", 0, "", err
		}
		text = string(admin)
	}
	t, err := template.New("compiled_template").Parse(text)
	if err == nil && templatePath != "" && supportsBaseTemplate(version) {
		_, err = t.New("base").Parse(string(base))
	}
	if err != nil {
		return "", 0, "", fmt.Errorf("containerd template %s: %w", templatePath, err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return "", 0, "", fmt.Errorf("containerd template %s: %w", templatePath, err)
	}
	return out.String(), generation, templatePath, nil
}

type containerdProcess struct {
	cmd    *exec.Cmd
	exited chan error
}

// startContainerd runs the bundled containerd with CONFIG; its log goes to LOGFILE.
func startContainerd(ctx context.Context, binDir, config, root, logFile string) (*containerdProcess, error) {
	for _, dir := range []string{root, containerdState, filepath.Dir(logFile)} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	output, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(binDir, "containerd"), "--config", config, "--address", containerdSocket,
		"--state", containerdState, "--root", root)
	cmd.Stdout, cmd.Stderr = output, output
	cmd.Env = append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"))
	// like k3s's containerd: it goes when k3s goes (KillMode=process keeps only the pods' shims)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		output.Close()
		return nil, err
	}
	process := &containerdProcess{cmd: cmd, exited: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		output.Close()
		process.exited <- fmt.Errorf("containerd exited: %v (see %s)", err, logFile)
	}()
	go func() {
		<-ctx.Done()
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		client, err := containerd.New(containerdSocket, containerd.WithTimeout(2*time.Second))
		if err == nil {
			serving, _ := client.IsServing(ctx)
			client.Close()
			if serving {
				return process, nil
			}
		}
		select {
		case err := <-process.exited:
			return nil, err
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("containerd did not answer on %s within 60 s (see %s)", containerdSocket, logFile)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func containerdVersion(ctx context.Context) string {
	client, err := containerd.New(containerdSocket)
	if err != nil {
		return "containerd://unknown"
	}
	defer client.Close()
	version, err := client.Version(ctx)
	if err != nil {
		return "containerd://unknown"
	}
	return "containerd://" + version.Version
}

// importImages imports every *.tar, *.tar.gz and *.tar.zst in DIR (links followed) into the k8s.io namespace
// and unpacks the images for the overlayfs snapshotter, the way k3s imports its airgap images at start. Like
// k3s, a tarball is imported again only when it changed since its last import (size and modification time,
// kept in DIR/.cache.json) or when an image it brought is gone from containerd.
func importImages(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, entry := range entries {
		names = append(names, entry.Name())
	}
	sort.Strings(names)
	client, err := containerd.New(containerdSocket, containerd.WithDefaultNamespace("k8s.io"))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx = namespaces.WithNamespace(ctx, "k8s.io")
	cachePath := filepath.Join(dir, ".cache.json")
	cache := map[string]importRecord{}
	if data, err := os.ReadFile(cachePath); err == nil {
		_ = json.Unmarshal(data, &cache)
	}
	kept := map[string]importRecord{}
	for _, name := range names {
		if !(strings.HasSuffix(name, ".tar") || strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".tar.zst")) {
			continue
		}
		path := filepath.Join(dir, name)
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		record := importRecord{Size: info.Size(), ModTime: info.ModTime().UnixNano()}
		if old, ok := cache[name]; ok && old.Size == record.Size && old.ModTime == record.ModTime && imagesPresent(ctx, client, old.Images) {
			if err := pinImages(ctx, client, old.Images); err != nil {
				return err
			}
			kept[name] = old
			logf("images in %s unchanged since their import: %s", name, strings.Join(old.Images, ", "))
			continue
		}
		start := time.Now()
		images, err := importTarball(ctx, client, path)
		if err != nil {
			return fmt.Errorf("importing %s: %w", path, err)
		}
		if err := pinImages(ctx, client, images); err != nil {
			return err
		}
		record.Images = images
		kept[name] = record
		logf("imported %d image(s) from %s in %.1fs: %s", len(images), name, time.Since(start).Seconds(), strings.Join(images, ", "))
	}
	data, err := json.MarshalIndent(kept, "", "  ")
	if err != nil {
		return err
	}
	_, err = writeIfChanged(cachePath, append(data, '\n'), 0o600)
	return err
}

type importRecord struct {
	Size    int64    `json:"size"`
	ModTime int64    `json:"mtime"`
	Images  []string `json:"images"`
}

// The label of containerd's CRI plugin for images the kubelet's image garbage collection must keep (the pause
// image is one): k3s pins every image it imports from the airgap folder, as no registry can bring it back.
const (
	pinnedImageLabel = "io.cri-containerd.pinned"
	pinnedImageValue = "pinned"
)

// pinImages labels the images NAMES pinned, so that the kubelet's image garbage collection keeps them: on a disk
// above its high threshold (85 % used by default) it would otherwise delete the pause image and every image not
// in use, and no pod could start again.
func pinImages(ctx context.Context, client *containerd.Client, names []string) error {
	for _, name := range names {
		image, err := client.ImageService().Get(ctx, name)
		if err != nil {
			return err
		}
		if image.Labels[pinnedImageLabel] == pinnedImageValue {
			continue
		}
		if image.Labels == nil {
			image.Labels = map[string]string{}
		}
		image.Labels[pinnedImageLabel] = pinnedImageValue
		if _, err := client.ImageService().Update(ctx, image, "labels."+pinnedImageLabel); err != nil {
			return fmt.Errorf("pinning %s: %w", name, err)
		}
	}
	return nil
}

func imagesPresent(ctx context.Context, client *containerd.Client, names []string) bool {
	for _, name := range names {
		if _, err := client.ImageService().Get(ctx, name); err != nil {
			return false
		}
	}
	return len(names) > 0
}

func importTarball(ctx context.Context, client *containerd.Client, path string) ([]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var reader io.Reader = file
	switch {
	case strings.HasSuffix(path, ".gz"):
		gz, err := gzip.NewReader(file)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		reader = gz
	case strings.HasSuffix(path, ".zst"):
		zr, err := zstd.NewReader(file)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		reader = zr
	}
	imported, err := client.Import(ctx, reader, containerd.WithImportPlatform(platforms.Default()))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, image := range imported {
		if err := containerd.NewImageWithPlatform(client, image, platforms.Default()).Unpack(ctx, "overlayfs"); err != nil {
			return nil, fmt.Errorf("unpacking %s: %w", image.Name, err)
		}
		names = append(names, image.Name)
	}
	return names, nil
}
