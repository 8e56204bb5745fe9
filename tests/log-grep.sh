#!/usr/bin/env bash
# Greps the logs of a test run (every hub the Rust and browser harnesses started writes its stdout
# and stderr to a file in $PLUGBOARD_TEST_LOGS) for the secrets the suite uses. A hit prints the
# file and line and fails; so does, with CI=true, a run that logged nothing.
#
#   tests/log-grep.sh [DIR]      DIR: $PLUGBOARD_TEST_LOGS, else target/test-logs
#   tests/log-grep.sh --list     the literal secrets it looks for
#
# What counts as a secret:
# - every literal password, secret and token the tests set, read from tests/ itself: the value of a
#   `password`/`secret`/`*_token`/`app_secret`/... key (JSON bodies, JS objects, assignments), of a
#   constant whose name says PASSWORD, SECRET, TOKEN or KEY (DEMO_PASSWORD among them), and of a
#   `PLUGBOARD_*SECRET*`/`*PASSWORD*`/`*TOKEN*` setting, and what a browser test types into a
#   password, secret or token field; plus the few that are passed some other way (listed below). Values under 8 characters are left out: too common to mean anything.
# - the passwords in PLUGBOARD_TEST_POSTGRES and PLUGBOARD_TEST_REDIS, if they have one;
# - any URL with a password in it (`scheme://user:password@`), unless masked (`***`);
# - anything shaped like a session or widget token (32 random bytes, base64url: 43 characters of
#   [A-Za-z0-9_-] with upper and lower case and a digit), since those are random and cannot be
#   listed.
set -euo pipefail
if [ "${1:-}" = "--list" ]; then list_only=1; shift; fi
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-${PLUGBOARD_TEST_LOGS:-${CARGO_TARGET_DIR:-$root/target}/test-logs}}"

# Secrets the tests pass some other way than the forms read below (a command-line argument, a
# variable named otherwise, a mail server's login).
known=(
  hunter2-hunter2 from-a-file-42 Sup3rS3cret secret-password not-the-password
  agent-pass-Kw27x wrong-pass-Jd44m new-pass-Pq93v forged-token-Lm55r sue-password-1
  "a brand new secret" "not his password" desk-phone-1 phone-secret-1 a-new-password
)

sources=$(find "$root/tests" \( -name node_modules -o -name artifacts -o -name target \) -prune -o \
  -type f \( -name '*.rs' -o -name '*.mjs' -o -name '*.js' \) -print)
keys='password|passwd|secret|app_secret|secret_token|bot_token|access_token|auth_token|verify_token|api_key|encoding_aes_key'
literals=$(
  {
    printf '%s\n' "${known[@]}"
    # "password": "x" / password: 'x' / password = "x"
    # shellcheck disable=SC2086
    grep -hoiP "[\"']?\\b(?:$keys)[\"']?\\s*[:=]\\s*[\"']\\K[^\"'\\\\]{8,}(?=[\"'])" $sources || true
    # const DEMO_PASSWORD: &str = "x" / const APP_SECRET = 'x'
    # shellcheck disable=SC2086
    grep -hoP "\\b(?:const|static|let)\\s+[A-Z0-9_]*(?:PASS|SECRET|TOKEN|KEY)[A-Z0-9_]*\\s*(?::\\s*&(?:'static\\s+)?str\\s*)?=\\s*[\"']\\K[^\"'\\\\]{8,}(?=[\"'])" $sources || true
    # ("PLUGBOARD_CHAT__IDENTITY_SECRETS__SUPPORT", "x") / PLUGBOARD_X_SECRET: 'x'
    # shellcheck disable=SC2086
    grep -hoP "PLUGBOARD_[A-Z0-9_]*(?:SECRET|PASSWORD|TOKEN)[A-Z0-9_]*[\"']?\\s*[,:]\\s*[\"']\\K[^\"'\\\\]{8,}(?=[\"'])" $sources || true
    # page.getByLabel('App secret').fill('x') (what a browser test types into a secret's field)
    # shellcheck disable=SC2086
    grep -hoiP "(?:password|secret|token)[^;]*\\.fill\\([\"']\\K[^\"'\\\\]{8,}(?=[\"'])" $sources || true
  } | sort -u
)
if [ -n "${list_only:-}" ]; then
  printf '%s\n' "$literals"
  exit 0
fi
if [ ! -d "$dir" ] || [ -z "$(find "$dir" -type f -print -quit)" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "log-grep: no hub logs in $dir: the tests logged nothing (CI=true needs them)" >&2
    exit 1
  fi
  echo "log-grep: no hub logs in $dir: nothing to check"
  exit 0
fi

if ! grep -qxF 'plugboard-demo' <<<"$literals"; then
  echo "log-grep: the demo password was not found in tests/: the extraction is broken" >&2
  exit 1
fi

hits=0
report() { # label, then grep -Hn output (file:line:...) on stdin
  local label=$1 where
  while IFS= read -r where; do
    echo "log-grep: ${where%%:*}:$(cut -d: -f2 <<<"$where"): $label" >&2
    hits=$((hits + 1))
  done < <(cut -d: -f1,2 | sort -u -t: -k1,1 -k2,2n)
}

# The literals: which one is in the line is said (they are in the repository anyway). One line is
# let through: the banner `plugboard serve --demo` prints on its stdout to say how to log in to the
# demo, whose password is public by design (hub/src/demo.rs).
demo_banner='^[^:]+:[0-9]+:demo: log in at /, password [^ ]+ for every demo user'
while IFS= read -r hit; do
  file=${hit%%:*} rest=${hit#*:}
  secret=$(grep -oF -f <(printf '%s\n' "$literals") <<<"${rest#*:}" | head -n 1)
  echo "log-grep: $file:${rest%%:*}: a secret of the tests: $secret" >&2
  hits=$((hits + 1))
done < <(grep -rHnF -f <(printf '%s\n' "$literals") -- "$dir" | grep -vE "$demo_banner" || true)

# The test servers' passwords, if their URLs have one: not printed.
url_password() { # scheme://user:password@host/... -> password
  sed -nE 's#^[A-Za-z][A-Za-z0-9+.-]*://[^/@:]*:([^/@]+)@.*#\1#p' <<<"$1"
}
for var in PLUGBOARD_TEST_POSTGRES PLUGBOARD_TEST_REDIS; do
  password=$(url_password "${!var:-}")
  [ -n "$password" ] || continue
  report "the password of $var" < <(grep -rHnF -e "$password" -- "$dir" || true)
done

report "a URL with a password in it" < <(
  grep -rHnP '[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:(?!\*+@)[^\s/@]+@' -- "$dir" || true
)
report "something shaped like a session token (43 base64url characters)" < <(
  grep -rHnP '(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]{0,42}[0-9])(?=[A-Za-z0-9_-]{0,42}[A-Z])(?=[A-Za-z0-9_-]{0,42}[a-z])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])' -- "$dir" || true
)

files=$(find "$dir" -type f | wc -l)
secrets=$(wc -l <<<"$literals")
if [ "$hits" -gt 0 ]; then
  echo "log-grep: $hits secret(s) in the logs of $dir" >&2
  exit 1
fi
echo "log-grep: $files logs in $dir, none holds any of $secrets test secrets, a URL password or a token"
