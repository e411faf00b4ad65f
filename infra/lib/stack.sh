# shellcheck shell=bash
# Helpers of the scripts that run mobileid-stack (infra/ci/stage-stack.sh, infra/bench/stack.sh).
# Source it after infra/lib/common.sh, with ROOT set.

# stack_scratch NAME: a private scratch directory in $SCRATCH (it will hold the stack's
# generated secrets), removed when the script ends, whatever ends it; the servers are stopped as
# stop_servers_on_exit does, and the script's exit code is kept.
stack_scratch() {
    stop_servers_on_exit
    SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    chmod 700 "$SCRATCH"
    trap _stack_cleanup EXIT
}
# shellcheck disable=SC2317 # run by the EXIT trap
_stack_cleanup() {
    local rc=$?
    rm -rf "$SCRATCH"
    (exit "$rc")
    _stop_servers_and_exit
}

# start_stack RUNNER BOOTSTRAPS LOG [ARGS...]: starts mobileid-stack on DynamoDB Local
# ($AWS_ENDPOINT_URL_DYNAMODB) and waits for its ready file; sets STACK_API, STACK_URL (the
# function URL), STACK_CONTROL and STACK_SIGNATURE_METHOD, and exports the load test's secrets
# (through the environment, never the command line).
start_stack() {
    local runner=$1 bootstraps=$2 log=$3 ready="$SCRATCH/stack.json" i
    shift 3
    start_server mobileid-stack "$log" "$ROOT" "$runner" --bootstrap-dir "$bootstraps" \
        --dynamodb "$AWS_ENDPOINT_URL_DYNAMODB" --ready-file "$ready" --log-dir "$SCRATCH/logs" "$@"
    for ((i = 0; i < 100; i++)); do
        [[ -f $ready ]] && break
        kill -0 "$LAST_SERVER_PID" 2>/dev/null || { show_log_tail "$log"; die "mobileid-stack exited"; }
        sleep 0.1
    done
    [[ -f $ready ]] || { show_log_tail "$log"; die "mobileid-stack did not get ready in 10 s"; }
    local field=('import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$ready")
    STACK_API=$("$HELPER_PY" -c "${field[@]}" api)
    STACK_URL=$("$HELPER_PY" -c "${field[@]}" function_url)
    STACK_CONTROL=$("$HELPER_PY" -c "${field[@]}" control)
    STACK_SIGNATURE_METHOD=$("$HELPER_PY" -c "${field[@]}" signature_method)
    LOADTEST_SMS_TOKEN=$("$HELPER_PY" -c "${field[@]}" sms_token)
    LOADTEST_SIGNATURE_SECRET=$("$HELPER_PY" -c "${field[@]}" signature_secret)
    export LOADTEST_SMS_TOKEN LOADTEST_SIGNATURE_SECRET
}

# stack_loadtest LOADTEST PATHS [ARGS...]: mobileid-loadtest through the running stack, with the
# path set's webhook on the function URL; fails on any unexpected answer.
stack_loadtest() {
    local bin=$1 paths=$2 webhook=v1/msisdn/sms/momt/nexmo
    shift 2
    [[ $paths == original ]] && webhook='sms/momt/?provider=nexmo'
    run_child "$bin" --base-url "$STACK_API" --sms-url "${STACK_URL}receive" \
        --webhook-url "$STACK_URL$webhook" --paths "$paths" \
        --signature-method "$STACK_SIGNATURE_METHOD" --timeout 15s --quiet "$@"
}

# stack_burst LOADTEST N: reaps every instance, then N flows at once (N users, one flow each):
# each first request is a cold start; prints the runner's figures for the burst alone.
stack_burst() {
    local bin=$1 flows=$2
    curl -s -X POST "$STACK_CONTROL/reap" >/dev/null
    stack_report --save "$SCRATCH/before-burst.json"
    stack_loadtest "$bin" v1 --users "$flows" --flows "$flows" ||
        die "the burst through the stack saw unexpected answers"
    stack_report --since "$SCRATCH/before-burst.json"
}

# stack_report [ARGS...]: the runner's figures (infra/bench/stack_report.py --help).
stack_report() { "$HELPER_PY" "$ROOT/infra/bench/stack_report.py" "$STACK_CONTROL" "$@"; }
