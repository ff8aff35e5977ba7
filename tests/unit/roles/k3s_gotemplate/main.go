// Renders a k3s containerd template with Go's text/template, the way k3s does: the template is parsed,
// "base" is added as a named template, and it is executed with a ContainerdConfig value.
// Reads {"template": ..., "base": ..., "data": {"ExtraRuntimes": {...}, "SystemdCgroup": bool, ...}} on stdin.
// The struct mirrors the template data of the k3s stand-in (tests/standins/k3s/containerd.go), whose
// ExtraRuntimes and SystemdCgroup carry the names of k3s's pkg/agent/templates ContainerdConfig fields.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/template"
)

type ContainerdRuntimeConfig struct {
	RuntimeType string
	BinaryName  string
}

type ContainerdConfig struct {
	DataDir             string
	PauseImage          string
	SystemdCgroup       bool
	RuntimeCgroup       bool
	RestrictOOMScoreAdj bool
	DefaultRuntime      string
	ExtraRuntimes       map[string]ContainerdRuntimeConfig
}

type request struct {
	Template string
	Base     string
	Data     ContainerdConfig
}

func main() {
	var in request
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(2)
	}
	t, err := template.New("compiled_template").Parse(in.Template)
	if err == nil && in.Base != "" {
		_, err = t.New("base").Parse(in.Base)
	}
	if err == nil {
		err = t.Execute(os.Stdout, in.Data)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
