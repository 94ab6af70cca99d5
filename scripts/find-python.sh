#!/usr/bin/env bash
# Print the path of a working python<VERSION> (3.10 for Rasa, 3.11 for the action server),
# looking on PATH and then in pyenv, or say in one sentence what to install.
set -u
version="$1"
for candidate in "python${version}" ; do
  if path=$(command -v "$candidate" 2>/dev/null) && "$path" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '${version}'.split('.')))" >/dev/null 2>&1; then
    echo "$path"; exit 0
  fi
done
for root in "${PYENV_ROOT:-$HOME/.pyenv}/versions" /usr/local/bin /usr/bin; do
  for path in "$root"/"${version}"*/bin/python"${version}" "$root"/python"${version}"; do
    if [ -x "$path" ] && "$path" -c "import venv" >/dev/null 2>&1; then
      echo "$path"; exit 0
    fi
  done
done
echo "error: python${version} is required (Rasa 3.6 needs 3.10, the action server 3.11); install it, e.g. 'pyenv install ${version}'" >&2
exit 1
