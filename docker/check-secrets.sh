#!/usr/bin/env bash
# Refuse to start while a setting still holds a placeholder of docker/.env.example.
#
# docker-compose.yaml already refuses a missing or empty secret (${VAR:?...}); this catches the
# other mistake, a copied example file. Every placeholder there contains CHANGE_ME. The check
# reads this container's environment, where the secrets arrive (alone or inside a URL).
# Prints the names of the offending variables, never their values.
set -euo pipefail

offending=()
while IFS= read -r -d '' entry; do
    name=${entry%%=*}
    value=${entry#*=}
    if [[ $value == *CHANGE_ME* ]]; then
        offending+=("$name")
    fi
done < <(env -0)

if ((${#offending[@]})); then
    echo "mlgate: refusing to start: these settings still hold a CHANGE_ME placeholder from" \
         "docker/.env.example: ${offending[*]}. Set real values in docker/.env (see the comments" \
         "in docker/.env.example)." >&2
    exit 1
fi
