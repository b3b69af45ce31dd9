#!/usr/bin/env bash
# Create a virtualenv at $2 with interpreter $1, even on a bare Debian where the
# interpreter lacks ensurepip (python3-venv is then installed with apt when root).
set -euo pipefail
python=${1:?usage: mkvenv.sh PYTHON DIR}
dir=${2:?usage: mkvenv.sh PYTHON DIR}
[[ -x "$dir/bin/python" ]] && exit 0
if ! "$python" -m venv "$dir" 2>/dev/null; then
    rm -rf "$dir"
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        ver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" \
            || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        "$python" -m venv "$dir"
    else
        echo "cannot create a virtualenv with $python: install python3-venv" >&2
        exit 1
    fi
fi
"$dir/bin/python" -m pip install --quiet --upgrade "pip>=23.2"
