# Sourced by scripts/kube-tools.sh and scripts/kube-node.sh. k8s.io/kubernetes cannot be `go install`ed (its go.mod
# points its staging modules at ./staging), so its commands are built inside a small wrapper module that maps each
# staging module to its published version (v0.<minor>.<patch>).

# Where the tools and Go's caches live (outside the repository), and how everything is built: static, reproducible.
ROOT="${DSW_KUBE_TOOLS:-$HOME/.cache/dsw-kube-tools}"
BIN="$ROOT/bin"
export GOMODCACHE="$ROOT/gomod" GOCACHE="$ROOT/gobuild" GOPATH="$ROOT/gopath"
export GOFLAGS="-buildvcs=false -trimpath" GOTOOLCHAIN=local CGO_ENABLED=0

# kube_wrapper_gomod DIR VERSION MODULE: write DIR/go.mod (module MODULE) for k8s.io/kubernetes VERSION.
kube_wrapper_gomod() {
  local wrap="$1" version="$2" module="$3" staging proxy
  local staging_version="v0.${version#v1.}"
  proxy="$(go env GOPROXY)"
  # Every staging module k8s.io/kubernetes replaces with ./staging/..., from its module file.
  staging=$(curl -fsSL "${proxy%%,*}/k8s.io/kubernetes/@v/$version.mod" 2>/dev/null \
    | sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p') || true
  if [ -z "$staging" ]; then  # proxy not reachable with curl: ask go for the module file
    staging=$(cd "$wrap" && go mod download -json "k8s.io/kubernetes@$version" \
      | sed -n 's#.*"GoMod": "\(.*\)".*#\1#p' | xargs sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p')
  fi
  {
    echo "module $module"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
    echo
    echo "replace ("
    for m in $staging; do echo "	$m => $m $staging_version"; done
    echo ")"
  } > "$wrap/go.mod"
}

# kube_version_ldflags VERSION: linker flags that make the binary report VERSION (the default is v0.0.0-master).
kube_version_ldflags() {
  local version="$1" minor ld="-s -w" p
  minor="${version#v1.}"; minor="${minor%%.*}"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  echo "$ld"
}
