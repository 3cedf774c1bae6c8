# ensure_venv DIR REQUIREMENTS: create or refresh a Python venv with exactly these pins.
# The requirements file is copied into the venv, so a changed pin rebuilds it.
ensure_venv() {
    local dir=$1 reqs=$2
    if [ ! -x "$dir/bin/python" ] || ! cmp -s "$reqs" "$dir/.requirements"; then
        echo "== preparing $dir from $reqs" >&2
        rm -rf "$dir"
        python3 -m venv "$dir"
        "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
        cp "$reqs" "$dir/.requirements"
    fi
}
