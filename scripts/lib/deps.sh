# Installs the C libraries' -dev packages when a header is missing (a fresh machine has none),
# and the tools named as arguments: `curl`, or `TOOL:PACKAGE` when the Debian package is named
# otherwise (`promtool:prometheus`). Needs root for apt-get; runs `apt-get update` at most once.
ensure_deps() {
  local missing=()
  [ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
  [ -f /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -f /usr/include/curl/curl.h ] || missing+=(libcurl4-openssl-dev)
  [ -f /usr/include/openssl/hmac.h ] || missing+=(libssl-dev)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  local spec
  for spec in "$@"; do command -v "${spec%%:*}" >/dev/null 2>&1 || missing+=("${spec#*:}"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
    return 1
  fi
  echo "installing: ${missing[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
