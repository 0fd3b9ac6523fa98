#!/usr/bin/env bash
# Makes the base images the Dockerfiles and docker-compose.yml name available to the local engine
# (docs/deployment.md, "Base images without a registry"):
#   - each image is pulled if a registry serves it (then it is the real image and nothing is built);
#   - where the pull fails, a stand-in is built under the same name: a Debian root filesystem (debootstrap
#     --variant=minbase from the mirror apt uses), the packages .NET needs, this machine's /usr/share/dotnet (the
#     runtimes for aspnet, all of it for sdk), the non-root `app` user (uid/gid 1654) and the images' usual variables;
#     the SDK stand-in also trusts this machine's extra CA certificates (/usr/local/share/ca-certificates), so that
#     `dotnet restore` works behind an intercepting proxy; the dashboard stand-in runs the real Aspire dashboard from
#     the NuGet package the AppHost uses;
#   - a stand-in is labelled with a hash of its inputs and skipped when one with the same hash exists, so a second
#     run on the same machine takes a second or two.
# Writes what it did, image by image (real or stand-in), to docker/base-images.txt.
#
# Needs a running engine (scripts/docker-engine.sh start) and, for stand-ins, root and debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${DOCKER_BASE_IMAGES_CACHE:-/var/cache/loadbalancer-docker-base}"
report=docker/base-images.txt
label=org.loadbalancer.base-image.inputs
pull_timeout=120
suite=bookworm
# What .NET needs on Debian 12 (the runtime-deps image's list) and bash for docker/healthcheck.sh (in minbase).
packages=ca-certificates,libicu72,libssl3,tzdata,libgssapi-krb5-2,zlib1g,libstdc++6
app_uid=1654
dotnet=/usr/share/dotnet
dashboard_version="${ASPIRE_DASHBOARD_VERSION:-13.6.5}"
dashboard_dir="${NUGET_PACKAGES:-$HOME/.nuget/packages}/aspire.dashboard.sdk.linux-x64/$dashboard_version/tools"

say() { echo "docker-base-images: $*" >&2; }

# The Debian mirror apt is configured with (deb822 sources first, then sources.list); DEBIAN_MIRROR overrides it.
mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local found
  found=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$found" ] || found=$(awk '/^deb / && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list 2>/dev/null || true)
  echo "${found:-http://deb.debian.org/debian}"
}

# Base images named by the Dockerfiles (FROM) and the compose file (image:), each once.
images() {
  { sed -n 's/^FROM[[:space:]]\+\([^[:space:]]\+\).*/\1/p' */Dockerfile
    sed -n 's/^[[:space:]]*image:[[:space:]]*"\{0,1\}\([^"[:space:]]\+\)"\{0,1\}.*/\1/p' docker-compose.yml
  } | awk '!seen[$0]++'
}

# A hash of file names, sizes and times under the given paths (what a stand-in copies), cheap even for the SDK.
# Not .NET's metadata/ folder: every dotnet command on the machine touches it.
tree_hash() { find "$@" -path "$dotnet/metadata" -prune -o -type f -printf '%p %s %T@\n' 2>/dev/null | sort | sha256sum | cut -c1-16; }

# The runtime parts of the .NET installation (an aspnet image has no SDK, packs or templates).
runtime_paths=(dotnet host shared LICENSE.txt ThirdPartyNotices.txt)
extra_certs() { find /usr/local/share/ca-certificates -name '*.crt' 2>/dev/null | sort; }

inputs_of() {
  local kind=$1
  {
    sha256sum "$0" | cut -c1-16
    echo "$kind $(mirror) $suite $packages $app_uid"
    case $kind in
      aspnet) (cd "$dotnet" && tree_hash "${runtime_paths[@]}") ;;
      sdk) tree_hash "$dotnet"; extra_certs | xargs -r cat | sha256sum ;;
      dashboard) tree_hash "$dashboard_dir"; docker image inspect -f '{{.Id}}' "$(aspnet_image)" ;;
    esac
  } | sha256sum | cut -c1-16
}

kind_of() {
  case $1 in
    */dotnet/sdk:*) echo sdk ;;
    */dotnet/aspnet:*) echo aspnet ;;
    */aspire-dashboard:*) echo dashboard ;;
    *) echo unknown ;;
  esac
}

aspnet_image() { images | while read -r i; do [ "$(kind_of "$i")" = aspnet ] && echo "$i" && break; done; }

# The minimal root filesystem with .NET's packages and the app user, built once per mirror and package list.
rootfs() {
  local key dir
  key=$(echo "$(mirror) $suite $packages $app_uid" | sha256sum | cut -c1-16)
  dir="$cache/rootfs-$suite-$key"
  if [ ! -f "$dir/.complete" ]; then
    command -v debootstrap >/dev/null || { say "debootstrap is not installed (apt-get install debootstrap)"; return 1; }
    rm -rf "$dir"
    mkdir -p "$cache"
    say "debootstrap --variant=minbase $suite from $(mirror) (about 30 s)"
    debootstrap --variant=minbase --include="$packages" "$suite" "$dir" "$(mirror)" > "$cache/debootstrap.log" 2>&1 ||
      { tail -n 20 "$cache/debootstrap.log" >&2; return 1; }
    # As the real images: the non-root app user, and dotnet on PATH.
    chroot "$dir" groupadd --gid "$app_uid" app
    chroot "$dir" useradd --uid "$app_uid" --gid "$app_uid" --shell /bin/sh --create-home app
    ln -sf "$dotnet/dotnet" "$dir/usr/bin/dotnet"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    touch "$dir/.complete"
  fi
  echo "$dir"
}

# Streams the root filesystem plus the given parts of this machine's .NET into an image (one layer, no registry).
import_rootfs() {
  local name=$1; shift
  local root
  root=$(rootfs)
  tar --exclude=./.complete -C "$root" -cf - . -C / --no-recursion "${dotnet#/}" --recursion "$@" | docker import - "$name" >/dev/null
}

build_stand_in() {
  local name=$1 kind=$2 hash=$3 work="$scratch/$2"
  mkdir -p "$work"
  case $kind in
    aspnet|sdk)
      local parts=() import="loadbalancer-base-import:$hash"
      local wanted=("${runtime_paths[@]}")
      [ "$kind" = aspnet ] || mapfile -t wanted < <(ls -A "$dotnet")
      for p in "${wanted[@]}"; do parts+=("${dotnet#/}/$p"); done
      if [ "$kind" = sdk ]; then
        mapfile -t certs < <(extra_certs)
        for c in "${certs[@]}"; do parts+=("${c#/}"); done
      fi
      import_rootfs "$import" "${parts[@]}"
      {
        echo "FROM $import"
        echo "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin APP_UID=$app_uid ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true"
        if [ "$kind" = sdk ]; then
          echo "ENV DOTNET_GENERATE_ASPNET_CERTIFICATE=false DOTNET_NOLOGO=true DOTNET_USE_POLLING_FILE_WATCHER=true NUGET_XMLDOC_MODE=skip"
          [ -z "$(extra_certs)" ] || echo "RUN update-ca-certificates"
        fi
        echo 'CMD ["bash"]'
      } > "$work/Dockerfile"
      docker build -q --label "$label=$hash" -t "$name" "$work" >/dev/null
      docker rmi "$import" >/dev/null
      ;;
    dashboard)
      [ -x "$dashboard_dir/Aspire.Dashboard" ] ||
        { say "no Aspire dashboard at $dashboard_dir: restore the AppHost first (dotnet build LoadBalancer.sln)"; return 1; }
      cp -a "$dashboard_dir" "$work/dashboard"
      # NuGet extracts it owner-only (rwxr--r--); COPY keeps the mode, and the app user must run it.
      chmod -R a+rX "$work/dashboard"
      # As the real image: the frontend and its telemetry API on 18888, OTLP/gRPC on 18889, OTLP/HTTP on 18890,
      # as the non-root app user. Anonymous access is the compose file's choice (local use), not the image's.
      cat > "$work/Dockerfile" <<EOF
FROM $(aspnet_image)
WORKDIR /app
COPY dashboard/ /app/
ENV DOTNET_ROOT=$dotnet ASPNETCORE_URLS=http://+:18888 DOTNET_DASHBOARD_OTLP_ENDPOINT_URL=http://+:18889 DOTNET_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://+:18890
EXPOSE 18888 18889 18890
USER \$APP_UID
ENTRYPOINT ["/app/Aspire.Dashboard"]
EOF
      docker build -q --label "$label=$hash" -t "$name" "$work" >/dev/null
      ;;
    *)
      say "no stand-in is known for $name"
      return 1
      ;;
  esac
}

describe_stand_in() {
  case $1 in
    aspnet) echo "debootstrap $suite minbase + this machine's .NET runtimes ($(ls "$dotnet/shared/Microsoft.AspNetCore.App" | tr '\n' ' ' | sed 's/ $//'))" ;;
    sdk) echo "debootstrap $suite minbase + this machine's .NET SDK ($(ls "$dotnet/sdk" | tr '\n' ' ' | sed 's/ $//')) + $(extra_certs | wc -l) extra CA certificate(s)" ;;
    dashboard) echo "the real Aspire dashboard $dashboard_version (NuGet aspire.dashboard.sdk.linux-x64) on the aspnet image" ;;
  esac
}

docker info >/dev/null 2>&1 || { say "no Docker engine answers (scripts/docker-engine.sh start)"; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

lines=()
# The aspnet image first: the dashboard stand-in is built on it.
for name in $(images | while read -r i; do k=$(kind_of "$i"); echo "$([ "$k" = aspnet ] && echo 0 || echo 1) $i"; done | sort -s -k1,1 | cut -d' ' -f2); do
  kind=$(kind_of "$name")
  have=$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$name" 2>/dev/null || echo "<absent>")
  if [ "$have" != "<absent>" ] && [ -z "$have" ]; then
    say "$name: present, not a stand-in (real image)"
    lines+=("$name real (pulled from its registry)")
    continue
  fi
  hash=$(inputs_of "$kind")
  if [ "$have" = "$hash" ]; then
    say "$name: stand-in with the same inputs present ($hash), skipped"
  elif timeout "$pull_timeout" docker pull -q "$name" >/dev/null 2>&1; then
    say "$name: pulled"
    lines+=("$name real (pulled from its registry)")
    continue
  else
    say "$name: cannot be pulled; building a stand-in ($kind, inputs $hash)"
    previous=$(docker image inspect -f '{{.Id}}' "$name" 2>/dev/null || true)
    build_stand_in "$name" "$kind" "$hash"
    # The stand-in it replaces, if nothing else uses it (an image built on it keeps it, and rmi then refuses).
    [ -z "$previous" ] || docker rmi "$previous" >/dev/null 2>&1 || true
  fi
  lines+=("$name stand-in: $(describe_stand_in "$kind")")
done

{
  echo "# Written by scripts/docker-base-images.sh: the base images of its last run, real or stand-in (docs/deployment.md)."
  printf '%s\n' "${lines[@]}"
} > "$report"
cat "$report" >&2
