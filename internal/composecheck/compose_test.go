package composecheck

import (
	"context"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/kycflow/kycflow/callbudget"
	"github.com/kycflow/kycflow/config"
	"github.com/kycflow/kycflow/internal/devtemporal"
	"github.com/kycflow/kycflow/internal/searchattrs"
	"github.com/kycflow/kycflow/mangopay"
	"github.com/kycflow/kycflow/payloadcodec"
	"github.com/kycflow/kycflow/reconcile"
	"github.com/kycflow/kycflow/webhookbridge/bridge"
	"github.com/kycflow/kycflow/worker/kycworker"
)

// The repository root, from this package's directory.
const repoRoot = "../.."

var (
	// Services of the default stack, and those the sandbox profile adds.
	defaultServices = []string{"postgresql", "temporal", "temporal-search-attributes", "temporal-ui", "redis", "worker", "webhookbridge"}
	sandboxServices = []string{"mangopaysim", "register-hooks"}

	// One-shot services: they run to completion and are not restarted.
	oneShotServices = []string{"temporal-search-attributes", "register-hooks"}

	// Services built from the Dockerfile, and the command each runs.
	builtServices = map[string][]string{
		"worker":         {"worker"},
		"webhookbridge":  {"webhookbridge"},
		"mangopaysim":    {"mangopaysim", "--addr", "0.0.0.0:8090", "--allow-remote-control"},
		"register-hooks": {"webhookbridge", "hooks", "--apply"},
	}

	// The binaries the Dockerfile must build.
	binaries = []string{"worker", "webhookbridge", "starter", "mangopaysim"}
)

// Environment variables, grouped as the binaries read them.
var (
	temporalVars = []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "PAYLOAD_ENCRYPTION_KEY"}
	mangopayVars = []string{"MANGOPAY_BASE_URL", "MANGOPAY_CLIENT_ID", "MANGOPAY_API_KEY", "MANGOPAY_CLIENT_CERT_FILE", "MANGOPAY_CLIENT_KEY_FILE",
		"MANGOPAY_MAX_CALLS_PER_SECOND", "MANGOPAY_MAX_BURST", "MANGOPAY_RATE_RESERVE"}
	logVars    = []string{"LOG_FORMAT", "LOG_LEVEL"}
	bridgeVars = []string{
		"REDIS_URL", "REDIS_KEY_PREFIX", "WEBHOOK_PATH_TOKEN", "PLATFORM_API_TOKEN", "OPERATOR_API_TOKENS", "BRIDGE_MAX_CONCURRENT_UPLOADS", "BRIDGE_PUBLIC_ADDR", "BRIDGE_INTERNAL_ADDR",
		"BRIDGE_PUBLIC_URL", "BRIDGE_TRUSTED_PROXIES", "BRIDGE_RESTART_RETURN_URL", "CODEC_ALLOWED_ORIGINS", "CODEC_SERVER_TOKEN",
	}
	workerVars = []string{"REDIS_URL", "REDIS_KEY_PREFIX", "PLATFORM_WEBHOOK_URL", "PLATFORM_WEBHOOK_SECRET", "WORKER_HTTP_ADDR", "RECONCILE_EVENTS_EVERY"}
	simVars    = []string{"MANGOPAY_CLIENT_ID", "MANGOPAY_API_KEY", "MANGOPAY_SIM_PUBLIC_URL", "MANGOPAY_SIM_RETURN_URL_MAX", "MANGOPAY_SIM_OUTCOME_DELAY"}

	// Secrets and credentials: empty in .env.example, and compose refuses
	// to run until the operator's .env sets them. The values are what an
	// operator would put there (openssl rand -hex 32).
	operatorSecrets = map[string]string{
		"POSTGRES_PASSWORD":      strings.Repeat("a1", 32),
		"PAYLOAD_ENCRYPTION_KEY": strings.Repeat("b2", 32),
		"WEBHOOK_PATH_TOKEN":     strings.Repeat("c3", 32),
		"PLATFORM_API_TOKEN":     strings.Repeat("d4", 32),
		"CODEC_SERVER_TOKEN":     strings.Repeat("f6", 32),
		"MANGOPAY_CLIENT_ID":     "platform-client-id",
		"MANGOPAY_API_KEY":       strings.Repeat("e5", 20),
	}
)

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// envExample reads .env.example the way `docker compose --env-file` does.
func envExample(t *testing.T) map[string]string {
	t.Helper()
	env, err := dotenv.GetEnvFromFile(map[string]string{}, []string{filepath.Join(repoRoot, ".env.example")})
	require.NoError(t, err, "read .env.example")
	return env
}

// operatorEnv is .env.example with the secrets filled in, as an operator's
// .env would be.
func operatorEnv(t *testing.T) map[string]string {
	t.Helper()
	env := envExample(t)
	maps.Copy(env, operatorSecrets)
	return env
}

// load loads docker-compose.yml with env as the only environment (never the
// caller's own) and the given profiles enabled ("*" for all).
func load(t *testing.T, env map[string]string, profiles ...string) (*types.Project, error) {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	details := types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: types.Mapping(env),
	}
	return loader.LoadWithContext(context.Background(), details, loader.WithProfiles(profiles))
}

func mustLoad(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	p, err := load(t, env, profiles...)
	require.NoError(t, err, "load docker-compose.yml")
	return p
}

// allProfiles is the stack with every profile enabled, settings from
// .env.example plus the operator's secrets.
func allProfiles(t *testing.T) *types.Project {
	t.Helper()
	return mustLoad(t, operatorEnv(t), "*")
}

// envOf is a service's resolved environment; unset entries map to "".
func envOf(svc types.ServiceConfig) map[string]string {
	out := make(map[string]string, len(svc.Environment))
	for k, v := range svc.Environment {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

type envLookup map[string]string

func (e envLookup) Environ() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

func (e envLookup) LookupEnv(k string) (string, bool) { v, ok := e[k]; return v, ok }

func TestServicesAndProfiles(t *testing.T) {
	all := allProfiles(t)
	assert.Equal(t, "kycflow", all.Name, "project name")
	assert.ElementsMatch(t, concat(defaultServices, sandboxServices), all.ServiceNames(), "services with every profile")
	for _, name := range sandboxServices {
		assert.Equal(t, []string{"sandbox"}, all.Services[name].Profiles, "%s profiles", name)
	}
	for _, name := range defaultServices {
		assert.Empty(t, all.Services[name].Profiles, "%s must run without a profile", name)
	}

	def := mustLoad(t, operatorEnv(t))
	assert.ElementsMatch(t, defaultServices, def.ServiceNames(), "services without profiles")
	assert.ElementsMatch(t, sandboxServices, slices.Collect(maps.Keys(def.DisabledServices)), "services the default run leaves out")

	sandbox := mustLoad(t, operatorEnv(t), "sandbox")
	assert.ElementsMatch(t, concat(defaultServices, sandboxServices), sandbox.ServiceNames(), "services with --profile sandbox")
}

func TestBuiltServicesUseTheDockerfile(t *testing.T) {
	p := allProfiles(t)
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	images := map[string]bool{}
	for name, want := range builtServices {
		t.Run(name, func(t *testing.T) {
			svc := p.Services[name]
			require.NotNil(t, svc.Build, "%s has no build", name)
			assert.Equal(t, root, svc.Build.Context, "build context")
			assert.Equal(t, "Dockerfile", svc.Build.Dockerfile, "dockerfile")
			assert.Equal(t, want, []string(svc.Command), "command")
			assert.Empty(t, svc.Entrypoint, "entrypoint (the image has none; the command names the binary)")
			assert.Contains(t, binaries, svc.Command[0], "command runs a binary the Dockerfile builds")
			images[svc.Image] = true
		})
	}
	assert.Len(t, images, 1, "one image for all kycflow services: %v", images)
	for name, svc := range p.Services {
		if _, ok := builtServices[name]; !ok {
			assert.Nil(t, svc.Build, "%s is not a kycflow service and must use a published image", name)
		}
	}
}

func TestImagesArePinned(t *testing.T) {
	for name, svc := range allProfiles(t).Services {
		t.Run(name, func(t *testing.T) {
			ref := svc.Image
			require.NotEmpty(t, ref, "image")
			if at := strings.Index(ref, "@"); at >= 0 {
				return // pinned by digest
			}
			repo, tag := ref, ""
			if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
				repo, tag = ref[:i], ref[i+1:]
			}
			require.NotEmpty(t, tag, "image %s has no tag", ref)
			assert.NotEqual(t, "latest", tag, "image %s", ref)
			if repo == "temporalio/auto-setup" || repo == "temporalio/server" {
				assert.True(t, versionAtLeast(tag, 1, 28), "Temporal server %s: the Go SDK v1.50 and update-with-start need server 1.28 or later", tag)
			}
		})
	}
}

// versionAtLeast reports whether tag (major.minor[.patch][-suffix]) is at
// least major.minor.
func versionAtLeast(tag string, major, minor int) bool {
	parts := strings.SplitN(strings.SplitN(tag, "-", 2)[0], ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

func TestPublishedPorts(t *testing.T) {
	type port struct {
		HostIP    string
		Published string
		Target    uint32
	}
	want := map[string][]port{
		"webhookbridge": {{"", "8080", 8080}, {"127.0.0.1", "8081", 8081}},
		"temporal-ui":   {{"127.0.0.1", "8233", 8080}},
		"mangopaysim":   {{"127.0.0.1", "8090", 8090}},
	}
	for name, svc := range allProfiles(t).Services {
		var got []port
		for _, p := range svc.Ports {
			assert.Equal(t, "tcp", p.Protocol, "%s port %d protocol", name, p.Target)
			got = append(got, port{p.HostIP, p.Published, p.Target})
		}
		assert.ElementsMatch(t, want[name], got, "%s published ports", name)
		assert.NotEqual(t, "host", svc.NetworkMode, "%s must not use the host network", name)
	}
}

func TestServiceEnvironment(t *testing.T) {
	p := allProfiles(t)
	bridgeEnv := concat(temporalVars, mangopayVars, logVars, bridgeVars)
	want := map[string][]string{
		"worker":         concat(temporalVars, mangopayVars, logVars, workerVars),
		"webhookbridge":  bridgeEnv,
		"register-hooks": bridgeEnv,
		"mangopaysim":    concat(simVars),
	}
	for name, vars := range want {
		t.Run(name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(envOf(p.Services[name])))
			assert.Equal(t, vars, got, "environment variables of %s", name)
		})
	}

	t.Run("temporal", func(t *testing.T) {
		env := envOf(p.Services["temporal"])
		assert.Equal(t, "postgres12", env["DB"])
		assert.Equal(t, "postgresql", env["POSTGRES_SEEDS"], "database host is the compose service")
		assert.Equal(t, envOf(p.Services["postgresql"])["POSTGRES_USER"], env["POSTGRES_USER"])
		assert.Equal(t, envOf(p.Services["postgresql"])["POSTGRES_PASSWORD"], env["POSTGRES_PWD"])
		assert.Equal(t, envOf(p.Services["worker"])["TEMPORAL_NAMESPACE"], env["DEFAULT_NAMESPACE"], "auto-setup creates the workers' namespace")
		assert.NotContains(t, env, "DYNAMIC_CONFIG_FILE_PATH", "no dynamic config file")
	})
	t.Run("temporal-ui", func(t *testing.T) {
		assert.Equal(t, "temporal:7233", envOf(p.Services["temporal-ui"])["TEMPORAL_ADDRESS"])
	})
}

// TestConfigLoadersAcceptTheEnvironment runs the binaries' own configuration
// loaders on each service's resolved environment, from .env.example.
func TestConfigLoadersAcceptTheEnvironment(t *testing.T) {
	p := allProfiles(t)
	for _, name := range []string{"worker", "webhookbridge", "register-hooks"} {
		t.Run(name, func(t *testing.T) {
			env := envOf(p.Services[name])
			opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{DisableFile: true, EnvLookup: envLookup(env)})
			require.NoError(t, err, "Temporal envconfig")
			assert.Equal(t, "temporal:7233", opts.HostPort, "Temporal address is the compose service")
			assert.Equal(t, "default", opts.Namespace)

			mc, err := mangopay.ConfigFromEnv(getenv(env))
			require.NoError(t, err, "mangopay.ConfigFromEnv")
			assert.Equal(t, mangopay.SandboxURL, mc.BaseURL, "Mangopay's Sandbox by default")
			budget, err := callbudget.ConfigFromEnv(getenv(env))
			require.NoError(t, err, "callbudget.ConfigFromEnv")
			assert.Equal(t, callbudget.DefaultConfig(), budget, "the call budget's defaults")
			assert.Equal(t, "redis://redis:6379/0", env["REDIS_URL"], "Redis is the compose service")
		})
	}

	worker := envOf(p.Services["worker"])
	codec, err := payloadcodec.FromEnv(getenv(worker))
	require.NoError(t, err, "payloadcodec.FromEnv")
	assert.NotNil(t, codec, "payloads are encrypted")
	for _, name := range []string{"webhookbridge", "register-hooks"} {
		assert.Equal(t, worker["PAYLOAD_ENCRYPTION_KEY"], envOf(p.Services[name])["PAYLOAD_ENCRYPTION_KEY"], "%s shares the worker's payload key", name)
	}

	rc, err := reconcile.ConfigFromEnv(getenv(worker))
	require.NoError(t, err, "reconcile.ConfigFromEnv")
	assert.Equal(t, reconcile.DefaultEvery, rc.Every)

	wc, err := kycworker.LoadConfig(getenv(worker))
	require.NoError(t, err, "kycworker.LoadConfig")
	assert.Equal(t, "0.0.0.0:9091", wc.HTTPAddr, "the worker listens on all interfaces in its container")

	bc, err := bridge.LoadConfig(getenv(envOf(p.Services["webhookbridge"])))
	require.NoError(t, err, "bridge.LoadConfig")
	assert.Equal(t, "8080", portOf(t, bc.PublicAddr), "public listener port")
	assert.Equal(t, "8081", portOf(t, bc.InternalAddr), "internal listener port")
	assert.NotEqual(t, bridge.DevPathToken, bc.PathToken, "compose must not run on the development path token")
	assert.NotEqual(t, bridge.DevAPIToken, bc.APIToken, "compose must not run on the development API token")
	assert.False(t, bc.Dev, "compose must not run with the development switch (%s)", bridge.DevSwitch)

	// The Web UI's page (on the operator's host) calls the codec server on
	// the bridge's internal listener as published, from an allowed origin.
	ui := p.Services["temporal-ui"]
	endpoint, err := url.Parse(envOf(ui)["TEMPORAL_CODEC_ENDPOINT"])
	require.NoError(t, err, "TEMPORAL_CODEC_ENDPOINT")
	assert.Equal(t, "/codec/"+bc.CodecToken, endpoint.Path, "codec endpoint path: /codec/<CODEC_SERVER_TOKEN>, the Web UI sends no token of its own")
	assert.Equal(t, "8081", endpoint.Port(), "codec endpoint is the bridge's internal listener")
	require.Len(t, ui.Ports, 1)
	assert.Contains(t, bc.CodecOrigins, "http://localhost:"+ui.Ports[0].Published, "the Web UI's origin may call the codec server")
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err, "address %q", addr)
	return port
}

func TestMangopayDefaultsToTheSandbox(t *testing.T) {
	env := operatorEnv(t)
	delete(env, "MANGOPAY_BASE_URL")
	p := mustLoad(t, env)
	for _, name := range []string{"worker", "webhookbridge"} {
		assert.Equal(t, mangopay.SandboxURL, envOf(p.Services[name])["MANGOPAY_BASE_URL"], "%s without MANGOPAY_BASE_URL", name)
	}
}

func TestSecretsAreRequired(t *testing.T) {
	example := envExample(t)
	_, err := load(t, example)
	require.Error(t, err, "compose must refuse to run on .env.example's empty secrets")
	assert.Contains(t, err.Error(), ".env.example", "the error says where the settings are described")

	for name := range operatorSecrets {
		t.Run(name, func(t *testing.T) {
			v, listed := example[name]
			require.True(t, listed, ".env.example lists %s", name)
			assert.Empty(t, v, ".env.example must leave %s to the operator", name)
			for _, missing := range []bool{true, false} {
				env := operatorEnv(t)
				if missing {
					delete(env, name)
				} else {
					env[name] = ""
				}
				_, err := load(t, env)
				require.Error(t, err, "compose must refuse to run without %s", name)
				assert.Contains(t, err.Error(), name)
			}
		})
	}
}

func TestDependencies(t *testing.T) {
	type dep struct {
		Condition string
		Required  bool
	}
	appDeps := map[string]dep{
		"temporal":                   {types.ServiceConditionHealthy, true},
		"temporal-search-attributes": {types.ServiceConditionCompletedSuccessfully, true},
		"redis":                      {types.ServiceConditionHealthy, true},
		"mangopaysim":                {types.ServiceConditionHealthy, false},
	}
	want := map[string]map[string]dep{
		"postgresql":                 nil,
		"redis":                      nil,
		"mangopaysim":                nil,
		"temporal":                   {"postgresql": {types.ServiceConditionHealthy, true}},
		"temporal-search-attributes": {"temporal": {types.ServiceConditionHealthy, true}},
		"temporal-ui":                {"temporal": {types.ServiceConditionHealthy, true}},
		"worker":                     appDeps,
		"webhookbridge":              appDeps,
		"register-hooks": {
			"mangopaysim":   {types.ServiceConditionHealthy, true},
			"webhookbridge": {types.ServiceConditionHealthy, true},
		},
	}
	p := allProfiles(t)
	require.ElementsMatch(t, slices.Collect(maps.Keys(want)), p.ServiceNames())
	for name, svc := range p.Services {
		got := map[string]dep{}
		for target, d := range svc.DependsOn {
			got[target] = dep{d.Condition, d.Required}
		}
		if want[name] == nil {
			assert.Empty(t, got, "%s depends_on", name)
			continue
		}
		assert.Equal(t, want[name], got, "%s depends_on", name)
	}
}

func TestHealthChecksAndRestarts(t *testing.T) {
	p := allProfiles(t)
	for name, svc := range p.Services {
		t.Run(name, func(t *testing.T) {
			if slices.Contains(oneShotServices, name) {
				assert.Equal(t, types.RestartPolicyNo, svc.Restart, "one-shot service restart")
				return
			}
			assert.Equal(t, types.RestartPolicyUnlessStopped, svc.Restart, "long-running service restart")
			hc := svc.HealthCheck
			require.NotNil(t, hc, "long-running service without a health check")
			assert.False(t, hc.Disable, "health check disabled")
			require.NotEmpty(t, hc.Test, "health check test")
			assert.Contains(t, []string{"CMD", "CMD-SHELL"}, hc.Test[0], "health check form")
			assert.NotNil(t, hc.Interval, "health check interval")
			assert.NotNil(t, hc.Retries, "health check retries")
		})
	}

	// The kycflow services probe the ports they listen on (the image has
	// BusyBox wget, see TestDockerfile).
	probe := func(name string) string { return strings.Join(p.Services[name].HealthCheck.Test, " ") }
	assert.Contains(t, probe("worker"), "wget")
	// The worker is healthy once it polls (readiness; /healthz is liveness).
	assert.Contains(t, probe("worker"), "127.0.0.1:"+portOf(t, envOf(p.Services["worker"])["WORKER_HTTP_ADDR"])+"/readyz")
	bridgeEnv := envOf(p.Services["webhookbridge"])
	assert.Contains(t, probe("webhookbridge"), "127.0.0.1:"+portOf(t, bridgeEnv["BRIDGE_PUBLIC_ADDR"])+"/healthz")
	assert.Contains(t, probe("webhookbridge"), "127.0.0.1:"+portOf(t, bridgeEnv["BRIDGE_INTERNAL_ADDR"])+"/healthz")
	assert.Contains(t, probe("mangopaysim"), "127.0.0.1:8090/healthz")
	assert.Contains(t, probe("postgresql"), "pg_isready")
	assert.Contains(t, probe("redis"), "redis-cli ping")
	assert.Contains(t, probe("temporal"), "cluster health")
}

func TestPersistence(t *testing.T) {
	p := allProfiles(t)
	redis := p.Services["redis"]
	cmd := []string(redis.Command)
	i := slices.Index(cmd, "--appendonly")
	require.GreaterOrEqual(t, i, 0, "redis runs with --appendonly: %v", cmd)
	require.Less(t, i+1, len(cmd))
	assert.Equal(t, "yes", cmd[i+1], "--appendonly")
	if j := slices.Index(cmd, "--maxmemory-policy"); j >= 0 {
		assert.Equal(t, "noeviction", cmd[j+1], "webhook streams must never be evicted")
	}

	for name, target := range map[string]string{"redis": "/data", "postgresql": "/var/lib/postgresql/data"} {
		svc := p.Services[name]
		idx := slices.IndexFunc(svc.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == target })
		require.GreaterOrEqual(t, idx, 0, "%s has no volume at %s", name, target)
		v := svc.Volumes[idx]
		assert.Equal(t, types.VolumeTypeVolume, v.Type, "%s data is a named volume", name)
		assert.Contains(t, p.Volumes, v.Source, "%s volume is declared", name)
	}
}

func TestSearchAttributesAreRegistered(t *testing.T) {
	svc := allProfiles(t).Services["temporal-search-attributes"]
	script := strings.Join(svc.Command, "\n")
	names := map[enumspb.IndexedValueType]string{
		enumspb.INDEXED_VALUE_TYPE_KEYWORD:  "Keyword",
		enumspb.INDEXED_VALUE_TYPE_INT:      "Int",
		enumspb.INDEXED_VALUE_TYPE_TEXT:     "Text",
		enumspb.INDEXED_VALUE_TYPE_BOOL:     "Bool",
		enumspb.INDEXED_VALUE_TYPE_DOUBLE:   "Double",
		enumspb.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
	}
	var want []string
	for key := range devtemporal.SearchAttributes().GetUntypedValues() {
		typ, ok := names[key.GetValueType()]
		require.True(t, ok, "search attribute %s has type %v", key.GetName(), key.GetValueType())
		want = append(want, key.GetName())
		assert.Regexp(t, `--name\s+`+regexp.QuoteMeta(key.GetName())+`\s+--type\s+`+typ+`\b`, script,
			"compose registers %s as %s, like the dev stack", key.GetName(), typ)
	}
	require.Len(t, want, 8, "kycflow's search attributes (DESIGN.md's, KycAttention and KycReviewSince)")
	assert.Contains(t, script, "temporal operator search-attribute create")
}

// interpolated lists the variables docker-compose.yml interpolates; it fails
// on the bare $VAR form (write ${VAR}; $$ escapes a dollar for the container).
func interpolated(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	require.NoError(t, err)
	var text []string
	for line := range strings.Lines(string(raw)) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			text = append(text, strings.ReplaceAll(line, "$$", ""))
		}
	}
	s := strings.Join(text, "")
	if bare := regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*`).FindAllString(s, -1); len(bare) > 0 {
		t.Errorf("docker-compose.yml: write ${VAR}, not %v (or $$ for the container's shell)", bare)
	}
	var vars []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(s, -1) {
		vars = append(vars, m[1])
	}
	slices.Sort(vars)
	return slices.Compact(vars)
}

func TestEnvExampleMatchesCompose(t *testing.T) {
	used := interpolated(t)
	require.NotEmpty(t, used)
	listed := slices.Sorted(maps.Keys(envExample(t)))
	assert.Equal(t, used, listed, ".env.example must list exactly the variables docker-compose.yml interpolates")

	// Every variable has a comment right above it, and appears once.
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".env.example"))
	require.NoError(t, err)
	assign := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=`)
	seen := map[string]bool{}
	prev := ""
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimRight(line, "\r\n")
		if m := assign.FindStringSubmatch(line); m != nil {
			assert.False(t, seen[m[1]], ".env.example sets %s twice", m[1])
			seen[m[1]] = true
			assert.True(t, strings.HasPrefix(prev, "#"), ".env.example: %s has no comment right above it", m[1])
		}
		prev = line
	}
}

// dockerfile is the Dockerfile's instructions, continuation lines joined
// and comments dropped.
func dockerfile(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	require.NoError(t, err)
	var out []string
	cur := ""
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur += strings.TrimSpace(cont) + " "
			continue
		}
		out = append(out, cur+line)
		cur = ""
	}
	require.Empty(t, cur, "Dockerfile ends in a continuation")
	return out
}

func TestDockerfile(t *testing.T) {
	ins := dockerfile(t)
	keyword := func(i string) string { return strings.ToUpper(strings.Fields(i)[0]) }
	index := func(pred func(string) bool) int { return slices.IndexFunc(ins, pred) }

	var froms []int
	for i, in := range ins {
		if keyword(in) == "FROM" {
			froms = append(froms, i)
		}
	}
	require.GreaterOrEqual(t, len(froms), 2, "multi-stage: at least two FROM")
	first, last := ins[froms[0]], ins[froms[len(froms)-1]]
	assert.Contains(t, first, "golang:1.26", "build stage image")
	assert.Regexp(t, `(?i)\bAS\s+build\b`, first, "build stage name")
	runtime := strings.Fields(last)[1]
	assert.True(t, strings.HasPrefix(runtime, "alpine:"),
		"runtime image %s: the compose health checks need BusyBox wget", runtime)
	assert.NotContains(t, runtime, "latest")

	build := ins[froms[0]:froms[len(froms)-1]]
	at := func(sub string) int {
		return slices.IndexFunc(build, func(s string) bool { return strings.Contains(s, sub) })
	}
	modCopy, download, srcCopy := at("COPY go.mod go.sum"), at("go mod download"), at("COPY . .")
	require.GreaterOrEqual(t, modCopy, 0, "COPY go.mod go.sum")
	require.GreaterOrEqual(t, download, 0, "go mod download")
	require.GreaterOrEqual(t, srcCopy, 0, "COPY . .")
	assert.Less(t, modCopy, download, "modules are downloaded after copying only go.mod and go.sum")
	assert.Less(t, download, srcCopy, "modules are downloaded before the sources are copied")

	goBuild := build[at("go build")]
	fields := strings.Fields(goBuild)
	assert.Contains(t, goBuild, "CGO_ENABLED=0", "static binaries")
	assert.Contains(t, fields, "-trimpath")
	assert.Contains(t, goBuild, `-ldflags="-s -w"`)
	for _, b := range binaries {
		assert.Contains(t, fields, "./"+b, "go build of ./%s", b)
	}

	rt := ins[froms[len(froms)-1]:]
	user := slices.IndexFunc(rt, func(s string) bool { return keyword(s) == "USER" })
	require.GreaterOrEqual(t, user, 0, "the runtime stage sets a USER")
	u := strings.Split(strings.Fields(rt[user])[1], ":")[0]
	assert.NotContains(t, []string{"root", "0"}, u, "the runtime user is not root")
	assert.GreaterOrEqual(t, index(func(s string) bool { return strings.HasPrefix(s, "COPY --from=build") }), froms[len(froms)-1],
		"the runtime stage copies the binaries from the build stage")
}

func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	require.NoError(t, err)
	var patterns []string
	for line := range strings.Lines(string(raw)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	for _, want := range [][]string{{".git"}, {".tools"}, {".data"}, {"node_modules", "**/node_modules"}, {".env"}} {
		assert.True(t, slices.ContainsFunc(want, func(w string) bool { return slices.Contains(patterns, w) }),
			".dockerignore excludes %s", want[0])
	}
	for _, keep := range []string{"go.mod", "go.sum", "*.go"} {
		assert.NotContains(t, patterns, keep, ".dockerignore must keep %s", keep)
	}
}

// TestSandboxProfileSettings applies the settings .env.example's header gives
// for the local simulator and checks that they wire the worker and the
// bridge to it, and the simulator's webhooks back to the bridge.
func TestSandboxProfileSettings(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".env.example"))
	require.NoError(t, err)
	documented := regexp.MustCompile(`(?m)^#\s+([A-Z][A-Z0-9_]*)=(\S+)\s*$`).FindAllStringSubmatch(string(raw), -1)
	require.NotEmpty(t, documented, ".env.example documents the sandbox settings")
	env := operatorEnv(t)
	for _, m := range documented {
		env[m[1]] = m[2]
	}
	p := mustLoad(t, env, "sandbox")

	sim := p.Services["mangopaysim"]
	simPort := portOf(t, sim.Command[slices.Index(sim.Command, "--addr")+1])
	for _, name := range []string{"worker", "webhookbridge", "register-hooks"} {
		svcEnv := envOf(p.Services[name])
		mc, err := mangopay.ConfigFromEnv(getenv(svcEnv))
		require.NoError(t, err, "%s mangopay.ConfigFromEnv", name)
		u, err := url.Parse(mc.BaseURL)
		require.NoError(t, err)
		assert.Equal(t, "mangopaysim:"+simPort, u.Host, "%s calls the simulator", name)
		assert.Equal(t, envOf(sim)["MANGOPAY_CLIENT_ID"], mc.ClientID, "%s and the simulator agree on the ClientId", name)
		assert.Equal(t, envOf(sim)["MANGOPAY_API_KEY"], mc.APIKey, "%s and the simulator agree on the API key", name)
	}

	bc, err := bridge.LoadConfig(getenv(envOf(p.Services["register-hooks"])))
	require.NoError(t, err, "bridge.LoadConfig")
	hook, err := url.Parse(bc.WebhookURL())
	require.NoError(t, err)
	bridgePort := portOf(t, envOf(p.Services["webhookbridge"])["BRIDGE_PUBLIC_ADDR"])
	assert.Equal(t, "webhookbridge:"+bridgePort, hook.Host, "the simulator delivers webhooks to the bridge's public listener")
}

// TestServicesPassTheConfiguration: each kycflow service's resolved
// environment passes the loading its command runs (package config: every
// variable checked, the production rules applied), against the Sandbox and
// under the sandbox profile; and compose refuses to start a bridge that
// would register an http webhook URL at Mangopay.
func TestServicesPassTheConfiguration(t *testing.T) {
	processes := map[string]config.Process{"worker": config.Worker, "webhookbridge": config.Bridge, "register-hooks": config.Bridge}
	check := func(t *testing.T, p *types.Project) {
		for name, proc := range processes {
			svc, ok := p.Services[name]
			if !ok {
				continue
			}
			e, err := config.Load(proc, getenv(envOf(svc)))
			require.NoError(t, err, "%s: config.Load", name)
			assert.False(t, e.Dev, "%s runs in production mode", name)
		}
	}
	t.Run("sandbox", func(t *testing.T) { check(t, mustLoad(t, operatorEnv(t))) })
	t.Run("sandbox profile", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(repoRoot, ".env.example"))
		require.NoError(t, err)
		env := operatorEnv(t)
		for _, m := range regexp.MustCompile(`(?m)^#\s+([A-Z][A-Z0-9_]*)=(\S+)\s*$`).FindAllStringSubmatch(string(raw), -1) {
			env[m[1]] = m[2]
		}
		check(t, mustLoad(t, env, "sandbox"))
	})
	t.Run("no BRIDGE_PUBLIC_URL", func(t *testing.T) {
		env := operatorEnv(t)
		delete(env, "BRIDGE_PUBLIC_URL")
		_, err := load(t, env)
		require.Error(t, err, "compose must not default to an http hook URL")
		assert.Contains(t, err.Error(), "BRIDGE_PUBLIC_URL")
	})
}

// TestComposeRegistersEverySearchAttribute: compose's one-shot registers
// each attribute the worker checks for at start-up, with its type (the
// worker refuses to start otherwise; `worker register-search-attributes`
// does the same from the kycflow image).
func TestComposeRegistersEverySearchAttribute(t *testing.T) {
	p := allProfiles(t)
	script := strings.Join(p.Services["temporal-search-attributes"].Command, "\n")
	for _, k := range searchattrs.Keys {
		typ := strings.TrimPrefix(k.GetValueType().String(), "IndexedValueType")
		assert.Regexp(t, `--name `+k.GetName()+` --type `+typ+`\b`, script, "compose registers %s", k.GetName())
	}
}
