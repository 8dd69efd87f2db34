#!/usr/bin/env bash
# Prepare a Google Cloud project for the bot, from nothing. Safe to run again: every resource is
# looked up first and created only if missing, so a second run changes nothing.
#
#   deploy/bootstrap.sh [--project my-project] [--region us-central1] [--service mentor-bot] [--dry-run]
#                       [--connection my-github --repository mentor-bot]
#
# --project: else GOOGLE_CLOUD_PROJECT, else gcloud's own (gcloud config set project my-project).
# --region: where everything goes (us-central1); the GitHub connection must be in the same region.
# --service: the Cloud Run service's name (mentor-bot), which also names its accounts, trigger and
#   alerts: 1 to 20 lowercase letters, digits and hyphens, starting with a letter, not ending with a
#   hyphen (Cloud Run's rule, and 20 so that NAME-scheduler fits a service account's 30 characters).
#   Give make deploy the same region and service: the last line says how.
# --dry-run changes nothing and prints the whole plan, on a brand-new project too.
# Secrets are read from the environment (FB_PAGE_ACCESS_TOKEN, FB_APP_SECRET, TELEGRAM_BOT_TOKEN,
# WEB_CHAT_TOKEN, ADMIN_TOKEN, ...) or asked for without echo; FB_VERIFY_TOKEN, TELEGRAM_SECRET_TOKEN and
# TASKS_TOKEN are generated if not given. A channel whose secrets you leave empty stays off.
# OWNER_NAME, OWNER_CONTACT (shown on /privacy, which Meta's App Review asks for), RETENTION_DAYS and
# FB_APP_ID go to the trigger when set, and a rerun with other values updates it.
# ALERT_EMAIL gets an e-mail when an alert fires (5xx share, p99 latency, /health failing).
# BUDGET (a plain number such as 10 or 7.50, in the billing account's own currency; a currency code
# after it, 10EUR, must be the account's) adds a monthly budget that e-mails the billing admins at 50,
# 90 and 100 % of it.
# PUBLIC_ACCESS (allow-unauthenticated or no-invoker-iam-check) overrides what is read from the
# organisation's policy on who may call the service.
# The build trigger needs the GitHub repository linked to Cloud Build first (2nd gen, same region).
set -euo pipefail

PROJECT="${GOOGLE_CLOUD_PROJECT:-}"
REGION="us-central1"
SERVICE="mentor-bot"
AR_REPO="chatbot"
CONNECTION=""
REPOSITORY=""
DRY_RUN=0
WAIT_TRIES="${BOOTSTRAP_WAIT_TRIES:-20}"  # how long to wait for what was just created: tries ...
WAIT_SECONDS="${BOOTSTRAP_WAIT_SECONDS:-6}"  # ... times this many seconds

usage() { sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit "${1:-0}"; }
value_of() {  # option, then what follows it
    if [ $# -lt 2 ] || [ -z "$2" ] || [[ "$2" == --* ]]; then echo "$1 needs a value" >&2; exit 2; fi
    printf '%s' "$2"
}
while [ $# -gt 0 ]; do
    case "$1" in  # --region=europe-west1 as well as --region europe-west1
        --project=*|--region=*|--service=*|--connection=*|--repository=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    esac
    case "$1" in
        --project) PROJECT=$(value_of "$@"); shift 2 ;;
        --region) REGION=$(value_of "$@"); shift 2 ;;
        --service) SERVICE=$(value_of "$@"); shift 2 ;;
        --connection) CONNECTION=$(value_of "$@"); shift 2 ;;
        --repository) REPOSITORY=$(value_of "$@"); shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        -h|--help) usage 0 ;;
        *) echo "unknown option: $1" >&2; usage 2 ;;
    esac
done
[ -n "$PROJECT" ] || PROJECT=$(gcloud config get-value project 2>/dev/null || true)
[ -n "$PROJECT" ] || { echo "no project: give --project my-project, or run gcloud config set project my-project" >&2; exit 2; }
case "${PUBLIC_ACCESS:-}" in
    ""|allow-unauthenticated|no-invoker-iam-check) ;;
    *) echo "PUBLIC_ACCESS must be allow-unauthenticated or no-invoker-iam-check, not '$PUBLIC_ACCESS'" >&2; exit 2 ;;
esac
# Everything the names are made of is checked here, before any change: a name that breaks a rule
# half way through would leave a project half made.
if ! [[ "$SERVICE" =~ ^[a-z]([-a-z0-9]{0,18}[a-z0-9])?$ ]]; then
    echo "--service '$SERVICE': use 1 to 20 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (Cloud Run's rule; 20 so that $SERVICE-scheduler fits the 30 characters of a service account id)" >&2
    exit 2
fi
if ! [[ "$REGION" =~ ^[a-z]+-[a-z]+[0-9]+$ ]]; then
    echo "--region '$REGION' is not a region's name, such as us-central1 or europe-west1 (gcloud run regions list)" >&2
    exit 2
fi
# The owner's settings go to the trigger as one list, its separator (gcloud's ^SEP^ escape) one that
# none of them holds: a comma or a `|` in a name or an address stays in it.
OWNER_SETTINGS="OWNER_NAME OWNER_CONTACT RETENTION_DAYS FB_APP_ID"
given=""
for name in $OWNER_SETTINGS; do given="$given${!name:-}"; done
SEP=""
for candidate in '|' '~' ';' '#' '@' '+'; do
    if [[ "$given" != *"$candidate"* ]]; then SEP="$candidate"; break; fi
done
[ -n "$SEP" ] || { echo "OWNER_NAME, OWNER_CONTACT, RETENTION_DAYS and FB_APP_ID hold every one of | ~ ; # @ +: leave one of them out of all four" >&2; exit 2; }
if [ -n "${RETENTION_DAYS:-}" ] && ! [[ "$RETENTION_DAYS" =~ ^[0-9]+$ ]]; then
    echo "RETENTION_DAYS='$RETENTION_DAYS' is not a number of days" >&2
    exit 2
fi
BUDGET="${BUDGET:-${BUDGET_USD:-}}"  # BUDGET_USD: the old name, read as an amount in the account's currency
BUDGET_AMOUNT=""     # the amount as gcloud's --budget-amount reads it, without a currency
BUDGET_CURRENCY=""   # the currency code given after it, if any: it must be the billing account's
if [ -n "$BUDGET" ]; then
    units="" cents="" BUDGET_CURRENCY=""
    if [[ "$BUDGET" =~ ^([0-9]+)(\.([0-9]{1,2}))?\ ?([A-Za-z]{3})?$ ]]; then
        units="${BASH_REMATCH[1]}" cents="${BASH_REMATCH[3]}"
        BUDGET_CURRENCY=$(printf '%s' "${BASH_REMATCH[4]}" | tr '[:lower:]' '[:upper:]')
        units="${units#"${units%%[!0]*}"}"  # without leading zeros
        units="${units:-0}"
    fi
    if [ -z "$units" ] || [ "$units${cents//0/}" = 0 ]; then
        echo "BUDGET='$BUDGET' is not an amount: give a plain number above 0, such as 10 or 7.50 (a dot before the cents, no thousands separator), in the billing account's currency" >&2
        exit 2
    fi
    # gcloud reads the digits after the dot as nanos (5.5 would be 5 units and 5 nanos): so nine of them.
    BUDGET_AMOUNT="$units"
    [ -z "$cents" ] || { cents="${cents}0000000000"; BUDGET_AMOUNT="$BUDGET_AMOUNT.${cents:0:9}"; }
fi

RUNTIME_SA="${SERVICE}-runtime@${PROJECT}.iam.gserviceaccount.com"
BUILD_SA="${SERVICE}-deployer@${PROJECT}.iam.gserviceaccount.com"
SCHEDULER_SA="${SERVICE}-scheduler@${PROJECT}.iam.gserviceaccount.com"
TRIGGER="${SERVICE}-deploy"
SECRETS="fb-page-access-token fb-app-secret fb-verify-token telegram-bot-token telegram-secret-token tasks-token web-chat-token admin-token"
DEPLOYER_READS="fb-page-access-token telegram-bot-token telegram-secret-token"  # what set-webhooks uses
APIS="run cloudbuild artifactregistry firestore secretmanager cloudscheduler iam cloudresourcemanager monitoring"
[ -z "$BUDGET" ] || APIS="$APIS cloudbilling billingbudgets"
CHANGES=0
OFF_APIS=" "      # the APIs this run enables: in a dry run they stay off, and nothing behind them exists yet
NEW_SECRETS=" "   # the secrets a dry run would create
LEFT=""           # what is left for the owner to do, said again at the end
WORK=$(mktemp -d "${TMPDIR:-/tmp}/${SERVICE}-bootstrap.XXXXXX")  # policy files; a dry run keeps them to read
ERRFILE=$(mktemp)
if [ "$DRY_RUN" -eq 1 ]; then trap 'rm -f "$ERRFILE"' EXIT; else trap 'rm -rf "$WORK" "$ERRFILE"' EXIT; fi

g() { gcloud --project="$PROJECT" --quiet "$@"; }
shown() { printf 'gcloud %s' "$(quoted --project="$PROJECT" --quiet "$@")"; }  # a command as g() runs it
step() { printf '\n== %s\n' "$1"; }
left() { LEFT="${LEFT}  - $1"$'\n'; }

# The command as a shell would need it typed: what a dry run prints can be pasted as it is.
quoted() {
    local arg out=""
    for arg in "$@"; do
        if [[ "$arg" =~ ^[A-Za-z0-9_./:=@,%+-]+$ ]]; then out="$out $arg"; else out="$out '${arg//\'/\'\\\'\'}'"; fi
    done
    printf '%s' "${out# }"
}

# Run a command that changes something, or only print it with --dry-run: printed as it is run, with
# --project, so that a line pasted from a dry run acts on this project. IAM is eventually
# consistent (a service account made a moment ago may not be bindable yet): a failed change is
# tried again a few times before the run stops with gcloud's own words.
change() {
    CHANGES=$((CHANGES + 1))
    if [ "$DRY_RUN" -eq 1 ]; then echo "would run: $(shown "$@")"; return 0; fi
    echo "+ $(shown "$@")"
    local attempt err
    for attempt in 1 2 3 4 5; do
        if err=$(g "$@" 2>&1 >/dev/null); then return 0; fi
        echo "  not yet (attempt $attempt): $(echo "$err" | tail -1)" >&2
        sleep $((attempt * 2))
    done
    echo "failed: $(shown "$@")" >&2
    echo "$err" >&2
    exit 1
}

is_missing() { case "$1" in *NOT_FOUND*|*"not found"*|*"does not exist"*|*"Cannot find"*) return 0 ;; *) return 1 ;; esac; }
is_off() { case "$1" in *SERVICE_DISABLED*|*"has not been used"*|*"it is disabled"*) return 0 ;; *) return 1 ;; esac; }

# 0: it exists; 1: it does not. An API that is off is "missing" in a dry run (it would be enabled
# first) and waited for in a real run (enabling takes a moment to reach every API). Anything else
# (permission denied, say) is not "missing": it stops the run with gcloud's words.
exists() {
    local attempt err
    for attempt in $(seq "$WAIT_TRIES"); do
        if err=$(g "$@" 2>&1 >/dev/null); then return 0; fi
        if is_missing "$err"; then return 1; fi
        if is_off "$err"; then
            [ "$DRY_RUN" -eq 0 ] || return 1
            echo "  waiting for the API to be ready (attempt $attempt)" >&2; sleep "$WAIT_SECONDS"
        else
            echo "could not tell whether it exists: $(shown "$@")" >&2; echo "$err" >&2; exit 1
        fi
    done
    echo "gave up waiting: $(shown "$@")" >&2
    exit 1
}

# Read something (a list, a policy's members): printed on stdout, empty when what it reads from
# does not exist yet, by the same rules as exists(). Call it as x=$(look ...).
look() {
    local attempt out
    for attempt in $(seq "$WAIT_TRIES"); do
        if out=$(g "$@" 2>"$ERRFILE"); then
            [ -z "$out" ] || printf '%s\n' "$out"
            return 0
        fi
        if is_missing "$(cat "$ERRFILE")"; then return 0; fi
        if is_off "$(cat "$ERRFILE")"; then
            [ "$DRY_RUN" -eq 0 ] || return 0
            echo "  waiting for the API to be ready (attempt $attempt)" >&2; sleep "$WAIT_SECONDS"
        else
            echo "could not read: $(shown "$@")" >&2; cat "$ERRFILE" >&2; exit 1
        fi
    done
    echo "gave up waiting: $(shown "$@")" >&2
    exit 1
}

# After creating something: wait until it can be read back, bounded, saying what it waits for.
wait_for() {  # description, then the describe command
    local what="$1" attempt
    shift
    [ "$DRY_RUN" -eq 1 ] && return 0
    for attempt in $(seq "$WAIT_TRIES"); do
        if g "$@" >/dev/null 2>&1; then return 0; fi
        echo "  waiting for $what (attempt $attempt of $WAIT_TRIES)"
        sleep "$WAIT_SECONDS"
    done
    echo "$what is still not ready: run this script again in a few minutes (it picks up where it stopped)" >&2
    exit 1
}

# The name of what a list finds, once it finds it: for what was just created and is named by the API.
name_of() {  # description, then the list command
    local what="$1" attempt found
    shift
    for attempt in $(seq "$WAIT_TRIES"); do
        found=$(look "$@")
        if [ -n "$found" ]; then echo "${found%%$'\n'*}"; return 0; fi
        echo "  waiting for $what (attempt $attempt of $WAIT_TRIES)" >&2
        sleep "$WAIT_SECONDS"
    done
    echo "$what is still not visible: run this script again in a few minutes (it picks up where it stopped)" >&2
    exit 1
}

# A budget's currency code, when given, must be the billing account's: read before the first change.
if [ -n "$BUDGET_CURRENCY" ]; then
    budget_refused() { echo "BUDGET=$BUDGET: $1" >&2; exit 2; }
    if ! account=$(g billing projects describe "$PROJECT" --format='value(billingAccountName)' 2>"$ERRFILE"); then
        is_off "$(cat "$ERRFILE")" &&
            budget_refused "the billing account's currency cannot be checked while the Cloud Billing API is off in $PROJECT: give the amount alone (BUDGET=${BUDGET_AMOUNT%%.*}${cents:+.${cents:0:2}}), which is in the account's currency"
        budget_refused "could not read $PROJECT's billing account to check the currency (signed in? gcloud auth login): $(tail -3 "$ERRFILE" | tr '\n' ' ')"
    fi
    account="${account##*/}"
    [ -n "$account" ] || budget_refused "$PROJECT has no billing account: link one, then run this again"
    currency=$(g billing accounts describe "$account" --format='value(currencyCode)' 2>"$ERRFILE") ||
        budget_refused "could not read the currency of billing account $account (Billing Account Viewer on it is needed): $(tail -3 "$ERRFILE" | tr '\n' ' ')"
    [ "$currency" = "$BUDGET_CURRENCY" ] ||
        budget_refused "the billing account $account is in $currency, not $BUDGET_CURRENCY: give the amount in $currency, alone (BUDGET=${BUDGET_AMOUNT%%.*}${cents:+.${cents:0:2}} means ${BUDGET_AMOUNT%%.*}${cents:+.${cents:0:2}} $currency)"
fi

step "APIs"
enabled=$(g services list --enabled --format='value(config.name)' | tr '\n' ' ') ||
    { echo "could not list the project's APIs (above): is $PROJECT the right project, and are you its owner?" >&2; exit 1; }
for api in $APIS; do
    case " $enabled " in
        *" ${api}.googleapis.com "*) ;;
        *) change services enable "${api}.googleapis.com"; OFF_APIS="$OFF_APIS$api " ;;
    esac
done

step "Artifact Registry repository ${AR_REPO} (${REGION}), keeping the newest images"
exists artifacts repositories describe "$AR_REPO" --location="$REGION" || {
    change artifacts repositories create "$AR_REPO" --location="$REGION" --repository-format=docker \
        --description="Images of the ${SERVICE} chatbot"
    wait_for "the Artifact Registry repository" artifacts repositories describe "$AR_REPO" --location="$REGION"
}
policies=$(look artifacts repositories list-cleanup-policies "$AR_REPO" --location="$REGION" --format=json)
case "$policies" in
    *keep-newest*) ;;
    *)
        cat >"$WORK/cleanup-policy.json" <<'JSON'
[
  {"name": "keep-newest", "action": {"type": "Keep"}, "mostRecentVersions": {"keepCount": 10}},
  {"name": "delete-older", "action": {"type": "Delete"}, "condition": {"olderThan": "2592000s"}}
]
JSON
        change artifacts repositories set-cleanup-policies "$AR_REPO" --location="$REGION" --policy="$WORK/cleanup-policy.json"
        ;;
esac

step "Firestore (native mode) and its TTL policies"
exists firestore databases describe --database='(default)' || {
    change firestore databases create --database='(default)' --location="$REGION" --type=firestore-native
    wait_for "the Firestore database" firestore databases describe --database='(default)'
}
for group in conversations reminders suggestions reports deletions; do
    state=$(look firestore fields ttls list --collection-group="$group" --format='value(ttlConfig.state)')
    case "$state" in
        *ACTIVE*|*CREATING*) ;;
        *) change firestore fields ttls update expire_at --collection-group="$group" --enable-ttl --async ;;
    esac
done
# A conversation's packed state is one long string that no query reads: no single-field indexes for it
# (every indexed value is stored again and written on every message).
inherits=$(look firestore indexes fields describe packed --collection-group=conversations \
    --format='value(indexConfig.usesAncestorConfig)')
case "$inherits" in
    False|false) ;;
    *) change firestore indexes fields update packed --collection-group=conversations --disable-indexes --async ;;
esac

step "Service accounts"
for sa in "$RUNTIME_SA:runs the bot" "$BUILD_SA:builds and deploys the bot" "$SCHEDULER_SA:calls the reminders task"; do
    email="${sa%%:*}"
    exists iam service-accounts describe "$email" || {
        change iam service-accounts create "${email%%@*}" --display-name="${SERVICE}: ${sa#*:}"
        wait_for "service account $email" iam service-accounts describe "$email"
    }
done

step "Secrets"
# Each secret from the environment, generated, or asked for (only with a terminal to ask on, as the
# real run does); a dry run plans what it would ask for as if a value were typed.
for secret in $SECRETS; do
    if exists secrets describe "$secret"; then continue; fi
    var=$(echo "$secret" | tr 'a-z-' 'A-Z_')
    value="${!var:-}" ask=0
    if [ -z "$value" ]; then
        case "$secret" in
            fb-verify-token|telegram-secret-token|tasks-token) value=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n') ;;
            web-chat-token|admin-token) ;;  # optional: the web chat and the dashboard stay off without them
            *) [ ! -t 0 ] || ask=1 ;;
        esac
    fi
    create=(secrets create "$secret" --replication-policy=automatic --data-file=-)
    if [ "$DRY_RUN" -eq 1 ] && { [ -n "$value" ] || [ "$ask" -eq 1 ]; }; then
        CHANGES=$((CHANGES + 1))
        if [ "$ask" -eq 1 ]; then
            echo "would ask for $var (not echoed; empty leaves its channel off) and run: $(shown "${create[@]}")"
        else
            echo "would run: $(shown "${create[@]}")"
        fi
        NEW_SECRETS="$NEW_SECRETS$secret "
        continue
    fi
    if [ "$ask" -eq 1 ]; then read -rsp "  $var (empty to leave this channel off): " value; echo; fi
    if [ -z "$value" ]; then
        echo "  $secret: no value ($var is not set$([ "$ask" -eq 1 ] || [ -t 0 ] || echo ", and there is no terminal to ask on")): skipped"
        continue
    fi
    CHANGES=$((CHANGES + 1))
    echo "+ $(shown "${create[@]}") (the value on stdin, not shown)"
    printf '%s' "$value" | g "${create[@]}" >/dev/null
done

step "Roles (least privilege)"
bind_project() {  # member role
    local members
    members=$(look projects get-iam-policy "$PROJECT" --flatten='bindings[].members' \
        --filter="bindings.role=$2" --format='value(bindings.members)')
    echo "$members" | grep -qx "$1" || change projects add-iam-policy-binding "$PROJECT" --member="$1" --role="$2" --condition=None
}
bind_resource() {  # "command group" name member role [extra flags...]
    local -a group
    local name="$2" member="$3" role="$4" members
    read -ra group <<<"$1"
    shift 4
    members=$(look "${group[@]}" get-iam-policy "$name" "$@" --flatten='bindings[].members' \
        --filter="bindings.role=$role" --format='value(bindings.members)')
    echo "$members" | grep -qx "$member" ||
        change "${group[@]}" add-iam-policy-binding "$name" "$@" --member="$member" --role="$role"
}
secret_exists() { [[ "$NEW_SECRETS" == *" $1 "* ]] || exists secrets describe "$1"; }
# The bot: read and write Firestore, read its own secrets. Nothing else.
bind_project "serviceAccount:$RUNTIME_SA" roles/datastore.user
for secret in $SECRETS; do
    if secret_exists "$secret"; then
        bind_resource secrets "$secret" "serviceAccount:$RUNTIME_SA" roles/secretmanager.secretAccessor
    fi
done
# The pipeline: deploy Cloud Run as the runtime account, push images, write build logs, see which
# secrets exist and their versions (metadata, not values), and read the three that set-webhooks uses.
bind_project "serviceAccount:$BUILD_SA" roles/run.admin
bind_project "serviceAccount:$BUILD_SA" roles/logging.logWriter
bind_project "serviceAccount:$BUILD_SA" roles/secretmanager.viewer
bind_resource "iam service-accounts" "$RUNTIME_SA" "serviceAccount:$BUILD_SA" roles/iam.serviceAccountUser
bind_resource "artifacts repositories" "$AR_REPO" "serviceAccount:$BUILD_SA" roles/artifactregistry.writer --location="$REGION"
for secret in $DEPLOYER_READS; do
    if secret_exists "$secret"; then
        bind_resource secrets "$secret" "serviceAccount:$BUILD_SA" roles/secretmanager.secretAccessor
    fi
done
# Monitoring needs no role on any of these accounts: uptime checks and alerts run as Google's own.

# Messenger and Telegram call the webhooks without a Google identity, so the service must let
# everyone in (the webhooks check the platforms' signatures themselves). Usually that is an allUsers
# invoker binding; an organisation that forbids allUsers (Domain Restricted Sharing) refuses it, and
# there the service turns the invoker check off instead.
step "Who may call the service"
if [ -n "${PUBLIC_ACCESS:-}" ]; then
    echo "  PUBLIC_ACCESS=$PUBLIC_ACCESS, as given"
elif drs=$(g resource-manager org-policies describe iam.allowedPolicyMemberDomains --effective --format=json 2>"$ERRFILE"); then
    case "$drs" in
        *'"allowedValues"'*|*'"deniedValues"'*|*'"DENY"'*)
            PUBLIC_ACCESS=no-invoker-iam-check
            echo "  the organisation's policy iam.allowedPolicyMemberDomains forbids allUsers: deploys use --no-invoker-iam-check" ;;
        *)
            PUBLIC_ACCESS=allow-unauthenticated
            echo "  the organisation's policy allows allUsers: deploys use --allow-unauthenticated" ;;
    esac
else
    PUBLIC_ACCESS=allow-unauthenticated
    echo "  could not read the organisation's policy ($(tail -1 "$ERRFILE")): deploys use --allow-unauthenticated;"
    echo "  if the first deploy says the policy refuses allUsers, run this again with PUBLIC_ACCESS=no-invoker-iam-check"
fi

step "Cloud Scheduler job for reminders"
number=$(look projects describe "$PROJECT" --format='value(projectNumber)')
number="${number:-PROJECT_NUMBER}"
url="https://${SERVICE}-${number}.${REGION}.run.app"
exists scheduler jobs describe "${SERVICE}-reminders" --location="$REGION" ||
    change scheduler jobs create http "${SERVICE}-reminders" --location="$REGION" --schedule='*/15 * * * *' \
        --uri="${url}/tasks/reminders" --http-method=POST --attempt-deadline=120s \
        --oidc-service-account-email="$SCHEDULER_SA" --oidc-token-audience="${url}/tasks/reminders"

# Alert policies exist only on gcloud's alpha track (or the REST API). The alpha command is used on
# purpose: the same login, project and quota as every other call here, idempotent through `list
# --filter`, and its arguments and policy files are checked offline by the installed SDK's own parser
# and the Monitoring API's own message types (tests/test_pipeline.py), which raw REST calls would not be.
step "Monitoring: an uptime check on /health; alerts on the 5xx share, the p99 latency and /health"
host="${SERVICE}-${number}.${REGION}.run.app"
uptime_name="${SERVICE} /health"
check=$(look monitoring uptime list-configs --filter="displayName=\"${uptime_name}\"" --format='value(name)')
if [ -z "$check" ]; then
    change monitoring uptime create "$uptime_name" --resource-type=uptime-url \
        --resource-labels="host=${host},project_id=${PROJECT}" --protocol=https --path=/health \
        --request-method=get --status-classes=2xx --period=5 --timeout=10 --regions=usa-iowa,usa-oregon,usa-virginia
    if [ "$DRY_RUN" -eq 1 ]; then
        check="projects/${PROJECT}/uptimeCheckConfigs/NEW"
    else
        check=$(name_of "the uptime check" monitoring uptime list-configs \
            --filter="displayName=\"${uptime_name}\"" --format='value(name)')
    fi
fi
sdk_root=$(gcloud info --format='value(installation.sdk_root)')
missing=""
for track in alpha beta; do [ -f "$sdk_root/lib/surface/$track/__init__.py" ] || missing="$missing $track"; done
if [ -n "$missing" ]; then
    echo "  alert policies and the e-mail channel skipped: this gcloud has no${missing} commands."
    echo "  Install them (gcloud components install${missing}; with apt or dnf they come in the google-cloud-cli"
    echo "  package: sudo apt-get install google-cloud-cli), then run this again."
    left "install gcloud's${missing} commands (gcloud components install${missing}) and run this again, for the alerts"
else
    channel=""
    if [ -z "${ALERT_EMAIL:-}" ]; then
        echo "  no e-mail: set ALERT_EMAIL=you@example.com and run this again (until then, alerts show only in the console)"
        left "ALERT_EMAIL=you@example.com deploy/bootstrap.sh ..., to get alerts by e-mail"
    else
        email_filter="type=\"email\" AND labels.email_address=\"${ALERT_EMAIL}\""
        channel=$(look beta monitoring channels list --filter="$email_filter" --format='value(name)')
        channel="${channel%%$'\n'*}"
        if [ -z "$channel" ]; then
            change beta monitoring channels create --display-name="${SERVICE} owner" --type=email \
                --channel-labels="email_address=${ALERT_EMAIL}"
            if [ "$DRY_RUN" -eq 1 ]; then
                channel="projects/${PROJECT}/notificationChannels/NEW"
            else
                channel=$(name_of "the e-mail channel" beta monitoring channels list --filter="$email_filter" --format='value(name)')
            fi
        fi
    fi
    # Until the first deploy there is no /health to check: its alert is made off, and turned on by
    # the first run of this script that finds the service.
    serving=$(look run services list --region="$REGION" --filter="metadata.name=${SERVICE}" --format='value(metadata.name)')
    # The filter narrows; the name is matched here, whole (gcloud's `=` is to match parts of names too).
    health_on=$(grep -qxF -- "$SERVICE" <<<"$serving" && echo true || echo false)
    # One policy: its display name, its file's name, and the policy itself on stdin. Made once; an
    # existing policy is left as it is, apart from getting the e-mail channel when one is new and
    # being turned on when it was made off.
    alert() {  # display name, file name, and what the policy must name (the uptime check) if anything
        local name="$1" file="$WORK/$2.json" must="${3:-}" policy found current
        policy=$(cat)
        found=$(look alpha monitoring policies list --filter="displayName=\"${name}\"" \
            --format='value(name,enabled,notificationChannels.list())' </dev/null)
        printf '%s\n' "$policy" >"$file"
        if [ -n "$found" ]; then
            if [ -n "$must" ] && [ "$DRY_RUN" -eq 0 ]; then
                # Made for another uptime check (one since deleted, or a dry run's line pasted with NEW in
                # its file): it could never fire, so it becomes the policy above.
                current=$(look alpha monitoring policies describe "${found%%$'\t'*}" \
                    --format='value(conditions[0].conditionThreshold.filter)' </dev/null)
                if [[ "$current" != *"$must"* ]]; then
                    change alpha monitoring policies update "${found%%$'\t'*}" --policy-from-file="$file"
                fi
            fi
            if [ -n "$channel" ] && [[ "$found" != *"$channel"* ]]; then
                change alpha monitoring policies update "${found%%$'\t'*}" --add-notification-channels="$channel"
            fi
            if [[ "$found" == *$'\t'False* ]] && [[ "$policy" == *'"enabled": true'* ]]; then
                change alpha monitoring policies update "${found%%$'\t'*}" --enabled
            fi
            return 0
        fi
        if [ "$DRY_RUN" -eq 1 ] && [[ "$policy" == *'"NEW'* || "$policy" == *'/NEW"'* ]]; then
            echo "  (the next line's file names NEW, what a line above creates: run the script rather than paste it)"
        fi
        if [ -n "$channel" ]; then
            change alpha monitoring policies create --policy-from-file="$file" --notification-channels="$channel"
        else
            change alpha monitoring policies create --policy-from-file="$file"
        fi
    }
    # Cloud Run's own metrics (run.googleapis.com/request_count and request_latencies, per revision):
    # each condition reads a rolling 10-minute window of the whole service.
    on_run="resource.type = \\\"cloud_run_revision\\\" AND resource.labels.service_name = \\\"${SERVICE}\\\""
    logs="Logs: gcloud run services logs read ${SERVICE} --region=${REGION} --limit=100. Rollback: docs/deploy.md."
    alert "${SERVICE} 5xx share" 5xx-share <<JSON
{
  "displayName": "${SERVICE} 5xx share",
  "combiner": "OR",
  "conditions": [{
    "displayName": "5xx responses above 1 % of all requests over 10 minutes",
    "conditionThreshold": {
      "filter": "${on_run} AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\"",
      "aggregations": [{"alignmentPeriod": "600s", "perSeriesAligner": "ALIGN_DELTA",
                        "crossSeriesReducer": "REDUCE_SUM", "groupByFields": ["resource.label.service_name"]}],
      "denominatorFilter": "${on_run} AND metric.type = \"run.googleapis.com/request_count\"",
      "denominatorAggregations": [{"alignmentPeriod": "600s", "perSeriesAligner": "ALIGN_DELTA",
                                   "crossSeriesReducer": "REDUCE_SUM", "groupByFields": ["resource.label.service_name"]}],
      "comparison": "COMPARISON_GT",
      "thresholdValue": 0.01,
      "duration": "0s",
      "trigger": {"count": 1}
    }
  }],
  "alertStrategy": {"autoClose": "86400s"},
  "documentation": {"mimeType": "text/markdown",
                    "content": "More than 1 % of the requests to ${SERVICE} failed with a 5xx in the last 10 minutes. ${logs}"}
}
JSON
    alert "${SERVICE} p99 latency" p99-latency <<JSON
{
  "displayName": "${SERVICE} p99 latency",
  "combiner": "OR",
  "conditions": [{
    "displayName": "99th percentile of request latency above 800 ms over 10 minutes",
    "conditionThreshold": {
      "filter": "${on_run} AND metric.type = \"run.googleapis.com/request_latencies\"",
      "aggregations": [{"alignmentPeriod": "600s", "perSeriesAligner": "ALIGN_DELTA",
                        "crossSeriesReducer": "REDUCE_PERCENTILE_99", "groupByFields": ["resource.label.service_name"]}],
      "comparison": "COMPARISON_GT",
      "thresholdValue": 800,
      "duration": "0s",
      "trigger": {"count": 1}
    }
  }],
  "alertStrategy": {"autoClose": "86400s"},
  "documentation": {"mimeType": "text/markdown",
                    "content": "The slowest 1 % of the requests to ${SERVICE} took more than 800 ms in the last 10 minutes (cold starts count too). ${logs}"}
}
JSON
    alert "${SERVICE} /health failing" health "check_id = \"${check##*/}\"" <<JSON
{
  "displayName": "${SERVICE} /health failing",
  "enabled": ${health_on},
  "combiner": "OR",
  "conditions": [{
    "displayName": "the uptime check of /health failing from more than one region for 10 minutes",
    "conditionThreshold": {
      "filter": "resource.type = \"uptime_url\" AND metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\" AND metric.labels.check_id = \"${check##*/}\"",
      "aggregations": [{"alignmentPeriod": "1200s", "perSeriesAligner": "ALIGN_NEXT_OLDER",
                        "crossSeriesReducer": "REDUCE_COUNT_FALSE", "groupByFields": ["resource.label.host"]}],
      "comparison": "COMPARISON_GT",
      "thresholdValue": 1,
      "duration": "600s",
      "trigger": {"count": 1}
    }
  }],
  "alertStrategy": {"autoClose": "86400s"},
  "documentation": {"mimeType": "text/markdown",
                    "content": "https://${host}/health has failed from more than one region for 10 minutes. ${logs}"}
}
JSON
    if [ "$DRY_RUN" -eq 1 ] && [[ "$check$channel" == *NEW* ]]; then
        echo "  (NEW stands for the name of what the lines above create)"
    fi
    if [ "$health_on" = false ]; then
        echo "  the /health alert is off until the service exists: run this again after the first push to turn it on"
        left "run this again after the first push, to turn the /health alert on"
    fi
fi

step "Budget alert"
if [ -z "$BUDGET" ]; then
    echo "  skipped: set BUDGET (say 10, in your billing account's currency) for an e-mail at 50, 90 and 100 % of a monthly budget"
else
    account=$(look billing projects describe "$PROJECT" --format='value(billingAccountName)')
    account="${account##*/}"
    if [ -z "$account" ] && [[ "$OFF_APIS" == *" cloudbilling "* ]] && [ "$DRY_RUN" -eq 1 ]; then
        CHANGES=$((CHANGES + 1))
        echo "would create the budget ${SERVICE}-budget of ${BUDGET_AMOUNT%%.*}${cents:+.${cents:0:2}} a month (in the billing account's currency, read once the Cloud Billing API is on)"
    else
        [ -n "$account" ] || { echo "  $PROJECT has no billing account: link one, then run this again" >&2; exit 1; }
        currency=$(look billing accounts describe "$account" --format='value(currencyCode)')
        [ -n "$currency" ] || { echo "  could not read the currency of billing account $account (you need Billing Account Viewer on it)" >&2; exit 1; }
        budget=$(look billing budgets list --billing-account="$account" --filter="displayName=${SERVICE}-budget" \
            --format='value(name)')
        [ -n "$budget" ] || change billing budgets create --billing-account="$account" \
            --display-name="${SERVICE}-budget" --budget-amount="${BUDGET_AMOUNT}${currency}" --filter-projects="projects/${PROJECT}" \
            --threshold-rule=percent=0.5 --threshold-rule=percent=0.9 --threshold-rule=percent=1.0
    fi
fi

# The owner's settings the service shows on /privacy, as trigger substitutions (only those given).
# With dynamic substitutions Cloud Build expands a `$` in a value, so each is stored as `$$`.
as_substitution() { printf '%s' "${1//\$/\$\$}"; }
owner_settings() {
    local name
    for name in $OWNER_SETTINGS; do
        [ -z "${!name:-}" ] || printf '%s_%s=%s' "$SEP" "$name" "$(as_substitution "${!name}")"
    done
}

step "Cloud Build trigger on push to main"
if [ -z "$CONNECTION" ] || [ -z "$REPOSITORY" ]; then
    echo "  skipped: link the repository to Cloud Build (2nd gen, region $REGION), then give --connection and --repository"
    left "link the repository to Cloud Build and run this again with --connection and --repository, for the trigger"
elif exists builds triggers describe "$TRIGGER" --region="$REGION"; then
    # Made by an earlier run: its substitutions follow this run's settings, only where they differ.
    updates=""
    for name in PUBLIC_ACCESS $OWNER_SETTINGS; do
        wanted=$(as_substitution "${!name:-}")
        [ -n "$wanted" ] || continue  # not given this time: left as it is
        current=$(look builds triggers describe "$TRIGGER" --region="$REGION" --format="value(substitutions._${name})")
        [ "$name" != PUBLIC_ACCESS ] || current="${current:-allow-unauthenticated}"
        [ "$current" = "$wanted" ] || updates="${updates}${SEP}_${name}=${wanted}"
    done
    if [ -n "$updates" ]; then
        change builds triggers update github "$TRIGGER" --region="$REGION" --update-substitutions="^${SEP}^${updates#"$SEP"}"
    fi
else
    if ! exists builds repositories describe "$REPOSITORY" --connection="$CONNECTION" --region="$REGION"; then
        if [ "$DRY_RUN" -eq 0 ]; then
            echo "  the repository $REPOSITORY is not linked in connection $CONNECTION ($REGION): in the console," >&2
            echo "  Cloud Build > Repositories > 2nd gen, create the connection in $REGION and link the repository," >&2
            echo "  then run this again" >&2
            exit 1
        fi
        case "$OFF_APIS" in
            *" cloudbuild "*) echo "  the Cloud Build API is off, so $REPOSITORY cannot be linked yet: the trigger needs it" ;;
            *) echo "  the repository $REPOSITORY is not linked in connection $CONNECTION ($REGION) yet: the trigger needs it" ;;
        esac
        left "link $REPOSITORY in Cloud Build > Repositories > 2nd gen (connection $CONNECTION, $REGION) before the real run"
    fi
    change builds triggers create github --name="$TRIGGER" --region="$REGION" \
        --repository="projects/${PROJECT}/locations/${REGION}/connections/${CONNECTION}/repositories/${REPOSITORY}" \
        --branch-pattern='^main$' --build-config=cloudbuild.yaml \
        --service-account="projects/${PROJECT}/serviceAccounts/${BUILD_SA}" \
        --substitutions="^${SEP}^_REGION=${REGION}${SEP}_SERVICE=${SERVICE}${SEP}_AR_REPO=${AR_REPO}${SEP}_RUNTIME_SA=${SERVICE}-runtime${SEP}_PUBLIC_ACCESS=${PUBLIC_ACCESS}$(owner_settings)"
fi

if [ "$DRY_RUN" -eq 1 ]; then
    printf '\ndry run: %s change(s) would be made\n' "$CHANGES"
    echo "the files the changes would send are in $WORK"
else
    printf '\ndone: %s change(s) made\n' "$CHANGES"
fi
[ -z "$LEFT" ] || printf 'still to do:\n%s' "$LEFT"
echo "service URL after the first deploy: $url"
if [ -n "$CONNECTION" ] && [ -n "$REPOSITORY" ]; then
    echo "to run the trigger by hand (as a git push does): make deploy $(quoted PROJECT="$PROJECT" REGION="$REGION" SERVICE="$SERVICE")"
fi
