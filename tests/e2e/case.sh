#!/bin/bash
# Runs one side of an end-to-end case in the test bed:
#   tests/e2e/case.sh CASE host|guest
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=/dev/null
. "$here/cases/$1.sh"
(watch_for_hang $$ &)
"$2"
