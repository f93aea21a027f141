# Try xconduit's commands against the X sandbox on its own, from the repository's folder:
#
#     source docs/examples/sandbox.sh
#
# starts `xconduit sandbox` on a free port in the background and points this shell's xconduit
# commands at it (XCONDUIT_X__API and the sandbox's demo credentials, which are not secrets; it
# prints them). The sandbox stops when this shell exits, or with `kill $XCONDUIT_SANDBOX_PID`.
# (The gateway's built-in sandbox, x.api = "sandbox", lives inside `xconduit serve`: commands
# that talk to X on their own, such as `xconduit audiences sync`, need this one.)

xconduit_sandbox_log=$(mktemp)
.venv/bin/xconduit sandbox --port 0 >"$xconduit_sandbox_log" 2>&1 &
XCONDUIT_SANDBOX_PID=$!
trap 'kill "$XCONDUIT_SANDBOX_PID" 2>/dev/null' EXIT
until grep -q '^X sandbox .* at http' "$xconduit_sandbox_log"; do
    if ! kill -0 "$XCONDUIT_SANDBOX_PID" 2>/dev/null; then
        cat "$xconduit_sandbox_log" >&2
        return 1
    fi
    sleep 0.2
done
XCONDUIT_X__API=$(sed -n 's/^X sandbox .* at //p' "$xconduit_sandbox_log")
export XCONDUIT_X__API
export XCONDUIT_X__CONSUMER_KEY=sandboxconsumerkey0000001
export XCONDUIT_X__CONSUMER_SECRET=sandbox-consumer-secret-0000000000000000000000000001
export XCONDUIT_X__ACCESS_TOKEN=1000000001-sandboxaccesstoken000000000000000001
export XCONDUIT_X__ACCESS_TOKEN_SECRET=sandbox-access-token-secret-000000000000000001
echo "X sandbox at $XCONDUIT_X__API (pid $XCONDUIT_SANDBOX_PID); what it received: $XCONDUIT_X__API/_sandbox/"
