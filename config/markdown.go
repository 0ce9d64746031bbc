package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
)

// DocPath is where the configuration reference lives, from the repository
// root.
const DocPath = "docs/configuration.md"

// intro is the reference's prose: what the declarations cannot say.
//
//go:embed intro.md
var intro string

// Markdown renders the configuration reference from Vars.
func Markdown() []byte {
	var b bytes.Buffer
	b.WriteString(intro)
	b.WriteString("| Variable | Type | Default | Development default | Allowed | Secret | Read by | Meaning |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for i := range Vars {
		v := &Vars[i]
		def := code(v.Default)
		if v.Computed != "" {
			def = v.Computed
		}
		for _, p := range Processes {
			if d, ok := v.ProcessDefault[p]; ok {
				if d == "" {
					d = "unset"
				} else {
					d = code(d)
				}
				def += fmt.Sprintf("; %s: %s", p, d)
			}
		}
		devDef := ""
		if v.DevDefault != "" {
			devDef = code(v.DevDefault)
		}
		allowed := v.Allowed
		if len(v.RequiredBy) > 0 {
			allowed = strings.TrimPrefix(allowed+"; required outside development by "+names(v.RequiredBy), "; ")
		}
		if v.Listener {
			allowed = strings.TrimPrefix(allowed+"; loopback under KYCFLOW_DEV=1", "; ")
		}
		secret := ""
		if v.Secret {
			secret = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n",
			v.Name, v.Type, cell(def), cell(devDef), cell(allowed), secret, names(v.Readers), cell(v.Meaning))
	}
	b.WriteString("\n## By command\n\n")
	for _, p := range Processes {
		var ns []string
		for i := range Vars {
			if Vars[i].ReadBy(p) {
				ns = append(ns, "`"+Vars[i].Name+"`")
			}
		}
		fmt.Fprintf(&b, "- **%s**: %s\n", p, strings.Join(ns, ", "))
	}
	return b.Bytes()
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func names(ps []Process) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return strings.Join(out, ", ")
}
