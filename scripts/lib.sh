# Shared helpers for scripts/run, scripts/test and benchmarks/*.sh (sourced, not executed).

# Install Debian packages that are missing; run apt-get update only when something is missing.
ensure_apt_packages() {
    local missing=()
    local package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "==> installing ${missing[*]}" >&2
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" </dev/null
    fi
}

ensure_liblz4() {
    if ! pkg-config --exists liblz4 2>/dev/null; then
        ensure_apt_packages pkg-config liblz4-dev
    fi
}

# Install Python modules that cannot be imported: ensure_python_modules module=pip-spec ...
ensure_python_modules() {
    local pair module spec missing=()
    for pair in "$@"; do
        module="${pair%%=*}"
        spec="${pair#*=}"
        if ! python3 -c "import $module" 2>/dev/null; then
            missing+=("$spec")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "==> pip installing ${missing[*]}" >&2
        if ! python3 -m pip --version >/dev/null 2>&1; then
            ensure_apt_packages python3-pip
        fi
        python3 -m pip install --quiet "${missing[@]}" \
            || python3 -m pip install --quiet --break-system-packages "${missing[@]}"
    fi
}
